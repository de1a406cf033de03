#!/usr/bin/env bash
# Stop what .ci/slurm_up.sh started, and nothing else: the daemons it recorded in $STATE, by their pid files (each
# checked to be the daemon it names), after cancelling the jobs left on that cluster; then remove its sacct stand-in.
set -u
STATE=/run/ci-slurm
SACCT=/usr/local/bin/sacct
SECONDS=0
[ -s "$STATE/started" ] || { echo "slurm_down.sh: nothing to stop (.ci/slurm_up.sh started nothing)"; exit 0; }
started() { grep -qx "$1" "$STATE/started"; }
pid_of() {  # $1: daemon's name, $2: its pid file; prints the pid if that process is running and is that daemon
    local pid
    pid=$(cat "$2" 2>/dev/null) || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}
stop() {  # $1: daemon's name, $2: its pid file; SIGTERM, then SIGKILL after 30 s
    local pid
    pid=$(pid_of "$1" "$2") || return 0
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.5; done
    echo "slurm_down.sh: $1 (pid $pid) did not stop within 30 s: killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

if started slurmctld && pid_of slurmctld /run/slurmctld.pid >/dev/null; then
    # the cluster is this script's: cancel the jobs left on it (by a test stopped half-way), by their ids
    jobs=$(squeue -h -o %A 2>/dev/null | sort -u)
    if [ -n "$jobs" ]; then
        echo "slurm_down.sh: cancelling jobs left on the cluster:" $jobs
        # shellcheck disable=SC2086
        scancel $jobs 2>/dev/null || true
        for _ in $(seq 30); do [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break; sleep 1; done
    fi
fi
started slurmd && stop slurmd /run/slurmd.pid
started slurmctld && stop slurmctld /run/slurmctld.pid
started munged && stop munged /run/munge/munged.pid
started sacct && grep -qxF "# written by .ci/slurm_up.sh" "$SACCT" 2>/dev/null && rm -f "$SACCT"
rm -rf "$STATE"
echo "slurm_down.sh: stopped in ${SECONDS} s"
