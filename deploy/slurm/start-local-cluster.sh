#!/usr/bin/env bash
# Starts a single-node Slurm cluster on localhost (munged + slurmctld + slurmd, NCPUS CPUs), for CI and for trying
# `sne submit` without a real cluster. Idempotent: does nothing when `sinfo` already answers. Needs root and the
# Debian packages slurm-wlm and munge (apt-get install -y slurm-wlm munge).
# Usage: deploy/slurm/start-local-cluster.sh [NCPUS]
set -euo pipefail
ncpus=${1:-$(nproc)}
if sinfo -h >/dev/null 2>&1 && [ "$(sinfo -h -o %T | awk 'NR==1')" = "idle" -o "$(sinfo -h -o %T | awk 'NR==1')" = "mixed" -o "$(sinfo -h -o %T | awk 'NR==1')" = "allocated" ]; then
  exit 0
fi
for tool in slurmctld slurmd munged sinfo; do
  command -v "$tool" >/dev/null || { echo "start-local-cluster: $tool is missing; apt-get install -y slurm-wlm munge" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "start-local-cluster: must run as root" >&2; exit 1; }

host=$(hostname -s)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge /var/lib/munge /var/log/munge /etc/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=sne-local
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
# Finished jobs stay visible to scontrol for an hour (default 300 s), so a test can read their final states.
MinJobAge=3600
MpiDefault=none
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${ncpus} RealMemory=${mem} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
rm -f /etc/slurm/cgroup.conf
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none; }
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c '/usr/sbin/munged' || /usr/sbin/munged --force
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 1 30); do
  state=$(sinfo -h -o %T 2>/dev/null | awk 'NR==1')
  case "$state" in idle|mixed|allocated) echo "start-local-cluster: node $host $state with $ncpus CPUs"; exit 0 ;; esac
  sleep 1
done
echo "start-local-cluster: the node did not come up; see /var/log/slurm/" >&2
sinfo >&2 || true
tail -20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
exit 1
