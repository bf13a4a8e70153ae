#!/usr/bin/env bash
# A real single-node Slurm on this machine, for the Slurm tests (test/unit/slurm.integration.test.ts) and
# the e2e's Slurm section: Debian's slurmctld + slurmd + slurm-client and munge, CPU only.
#
#   bash scripts/setup-slurm.sh          install what is missing (apt-get, as root), write the config, start
#                                        munged, slurmctld and slurmd, wait until sinfo shows the node idle
#   bash scripts/setup-slurm.sh --stop   stop the three daemons (by the pids they recorded)
#
# Idempotent: when the cluster is already up with this config, it returns at once. The config is written to
# /etc/slurm/slurm.conf (where every Slurm client looks: sbatch, squeue, and the extension's too); the state,
# logs and spool live in $RLHF_SLURM_STATE (default /var/tmp/rlhf-slurm), outside any worktree.
#
# Accounting: slurmdbd needs MariaDB/MySQL, so there is none (AccountingStorageType=accounting_storage/none):
# sacct has no job records. A finished job's end state is read with `scontrol show job` (kept in memory for
# MinJobAge = 1 day here) and from the job-completion log (JobCompType=jobcomp/filetxt, one line per ended
# job with its JobState and ExitCode); src/core/launch/slurm.ts reads sacct first where a cluster has it.
set -euo pipefail
STATE=${RLHF_SLURM_STATE:-/var/tmp/rlhf-slurm}
CONF=/etc/slurm/slurm.conf
PARTITION=${RLHF_SLURM_PARTITION:-debug}

# the pid a daemon recorded, only while that pid is still that daemon: a pid file outlives its process when the
# machine (or container) restarts, and the number is soon another process's
pid_file() { case $1 in munged) echo /run/munge/munged.pid ;; *) echo "$STATE/$1.pid" ;; esac; }
pid_of() { # daemon_name
  local f p; f=$(pid_file "$1"); [ -s "$f" ] || return 1; p=$(cat "$f")
  kill -0 "$p" 2>/dev/null && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$1" ] && echo "$p"
}

stop() {
  for d in slurmd slurmctld munged; do
    if p=$(pid_of $d); then
      kill "$p"
      for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  echo "slurm: stopped"
}
if [ "${1:-}" = "--stop" ]; then stop; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "setup-slurm.sh: run it as root (it installs packages and starts daemons)" >&2; exit 2; fi

# 1. packages
need=()
for p in slurmctld slurmd slurm-client munge; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  echo "slurm: installing ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi

# 2. config: this host's short name and CPU count, one partition, state under $STATE
host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$STATE/ctld" "$STATE/spool" /etc/slurm
conf=$(cat <<CONF
# Written by scripts/setup-slurm.sh: a one-node test cluster (CPU only) for RLHF Studio's Slurm tests.
ClusterName=rlhf-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/slurmctld.log
SlurmdLogFile=$STATE/slurmd.log
# no cgroups in a container: processes are tracked by their parent pids, tasks are not bound
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# no slurmdbd (it needs MariaDB): end states come from scontrol (kept MinJobAge s) and the completion log
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/jobcomp.log
MinJobAge=86400
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# a job over the partition's limits (more nodes than it has) is refused at submit, as on most production clusters
EnforcePartLimits=ALL
MpiDefault=none
ReturnToService=2
KillWait=30
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
)
changed=0
if [ ! -f "$CONF" ] || [ "$(cat "$CONF")" != "$conf" ]; then printf '%s\n' "$conf" > "$CONF"; changed=1; fi

# 3. daemons
if [ $changed = 1 ]; then stop >/dev/null; fi
if ! pid_of munged >/dev/null; then
  [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge; chown munge:munge /run/munge /var/log/munge /var/lib/munge
  # --force: a socket left by a munged that died with its machine does not stop this one
  runuser -u munge -- /usr/sbin/munged --force
fi
pid_of slurmctld >/dev/null || slurmctld
pid_of slurmd >/dev/null || slurmd

# 4. wait until the node takes jobs (a node that was down before a restart is resumed)
for i in $(seq 120); do
  st=$(sinfo -h -N -n "$host" -o %T 2>/dev/null || true)
  case "$st" in
    idle|mixed|allocated) echo "slurm: up, node $host $st, partition $PARTITION ($cpus CPUs); state in $STATE"; exit 0 ;;
    down*|drain*) scontrol update NodeName="$host" State=RESUME 2>/dev/null || true ;;
  esac
  sleep 0.5
done
{
  echo "setup-slurm.sh: the node did not become idle within 60 s (sinfo says: ${st:-nothing})."
  for d in munged slurmctld slurmd; do
    if p=$(pid_of $d); then echo "  $d: running, pid $p"; else echo "  $d: NOT running"; fi
  done
  for f in "$STATE/slurmctld.log" "$STATE/slurmd.log"; do echo "--- last lines of $f"; tail -n 15 "$f" 2>/dev/null || echo "(none)"; done
  echo "Stop it with: bash scripts/setup-slurm.sh --stop, then run this script again."
} >&2
exit 1
