#!/usr/bin/env bash
# A single-node Slurm cluster on this machine for the cluster tests (tests/test_clusters.py): Debian 12's Slurm
# (slurmctld, slurmd, slurm-client) and munge, with one partition, `debug`, holding this host. Run as root; no systemd
# needed. It installs the packages if they are missing, starts only what is not running yet and records what it
# started in $STATE, so that .ci/slurm_down.sh stops exactly that (by pid, never by name).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
STATE=/run/ci-slurm                   # what this script started: one name a line in $STATE/started
SACCT=/usr/local/bin/sacct            # stand-in for Slurm's accounting (below)
MARK="# written by .ci/slurm_up.sh"   # in the files this script writes, so that it never overwrites anyone else's
SECONDS=0

if [ "$(id -u)" -ne 0 ]; then
    echo "slurm_up.sh: run it as root: it installs Debian packages and starts daemons" >&2
    exit 1
fi
running() {  # $1: a daemon's name, $2: its pid file; true if that process is running and is that daemon
    local pid
    pid=$(cat "$2" 2>/dev/null) && [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]
}
record() { mkdir -p "$STATE"; echo "$1" >> "$STATE/started"; }

if running slurmctld /run/slurmctld.pid || running slurmd /run/slurmd.pid; then
    echo "slurm_up.sh: Slurm daemons are already running on this machine: using them as they are"
    sinfo
    exit 0
fi

installed=yes
for tool in slurmctld slurmd sinfo srun scontrol munged; do command -v "$tool" >/dev/null || installed=no; done
if [ "$installed" = no ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

# --- munge: Slurm's authentication (the package's post-installation normally creates the key) ---
[ -s /etc/munge/munge.key ] || { mungekey --create; chown munge:munge /etc/munge/munge.key; }
if ! running munged /run/munge/munged.pid; then
    install -d -o munge -g munge -m 0755 /run/munge
    runuser -u munge -- /usr/sbin/munged          # daemonizes; pid in /run/munge/munged.pid
    record munged
fi
munge -n | unmunge >/dev/null

# --- slurm.conf: one node (this host), one partition "debug" ---
H=$(hostname -s)
getent hosts "$H" >/dev/null || echo "127.0.0.1 $H" >> /etc/hosts   # slurmctld and slurmd look the host up by name
if [ -e /etc/slurm/slurm.conf ] && ! grep -qxF "$MARK" /etc/slurm/slurm.conf; then
    echo "slurm_up.sh: /etc/slurm/slurm.conf exists and was not written by this script: not replacing it" >&2
    exit 1
fi
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
# CR_Core: cores are the consumable resource. CR_Core_Memory would give each job the node's memory unless it asks
# for less, so jobs would run one at a time.
cat > /etc/slurm/slurm.conf <<EOF
$MARK
ClusterName=ci
SlurmctldHost=${H}
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
$(slurmd -C | head -n1) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

# --- Submitit follows its jobs with `sacct`, which needs an accounting daemon this cluster does not have: a
# stand-in answers its query from the controller's memory (without it, a job that Slurm kills leaves Submitit
# waiting forever) ---
if [ ! -e "$SACCT" ] || grep -qxF "$MARK" "$SACCT"; then
    cat > "$SACCT" <<EOF
#!/bin/sh
$MARK
EOF
    cat >> "$SACCT" <<'EOF'
# answers `sacct -o JobID,State,NodeList --parsable2 -j ID[,ID..]` (Submitit's query) from `scontrol show job`
ids=$(printf '%s\n' "$*" | sed -n 's/.*-j \([^ ]*\).*/\1/p' | tr ',' ' ')
echo "JobID|State|NodeList"
for id in $ids; do
  scontrol show job -o "$id" 2>/dev/null | awk '{
    delete v; for (i = 1; i <= NF; i++) { k = $i; sub(/=.*/, "", k); x = $i; sub(/^[^=]*=/, "", x); v[k] = x }
    id = v["JobId"]
    if (v["ArrayJobId"] != "") { t = v["ArrayTaskId"]; id = v["ArrayJobId"] "_" (t ~ /[-,]/ ? "[" t "]" : t) }
    print id "|" v["JobState"] "|" v["NodeList"] }'
done
EOF
    chmod 0755 "$SACCT"
    record sacct
fi

slurmctld; record slurmctld     # daemonizes; pid in /run/slurmctld.pid
slurmd; record slurmd           # daemonizes; pid in /run/slurmd.pid
for _ in $(seq 60); do sinfo -h -p debug -o %T 2>/dev/null | grep -qx idle && break; sleep 1; done
if ! sinfo -h -p debug -o %T 2>/dev/null | grep -qx idle; then
    echo "slurm_up.sh: the node did not become idle within 60 s; the daemons' logs:" >&2
    tail -n 30 /var/log/slurm/*.log >&2 || true
    "$(dirname "$0")/slurm_down.sh"
    exit 1
fi
timeout 60 srun -p debug -N1 true   # a job runs
sinfo
echo "slurm_up.sh: single-node Slurm cluster up (partition debug) in ${SECONDS} s"
