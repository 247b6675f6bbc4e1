#!/usr/bin/env bash
# Bring up a single-node SLURM (munged + slurmctld + slurmd) on this host, as root,
# without systemd. Idempotent: safe to run again while daemons are running.
#   WITH_DBD=1  -> also start mariadb + slurmdbd so that `sacct` has real accounting.
set -euo pipefail
t0=$(date +%s.%N)
log() { printf '[start-slurm %6.2fs] %s\n' "$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}')" "$*"; }

WITH_DBD=${WITH_DBD:-0}
PKGS="slurm-wlm munge slurm-client"
[ "$WITH_DBD" = 1 ] && PKGS="$PKGS slurmdbd mariadb-server"

# 1. packages (skip when already installed)
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing:$missing"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $missing >/dev/null
fi

HOST=$(hostname -s)
NCPU=$(nproc)
# RealMemory: 90% of MemTotal in MiB (slurmd refuses a node that reports less than configured)
MEM=$(awk '/MemTotal/ {printf "%d", $2/1024*0.9}' /proc/meminfo)
# make sure our short hostname resolves (slurmctld/slurmd resolve it); map it to loopback if not
getent hosts "$HOST" >/dev/null || echo "127.0.0.1 $HOST" >> /etc/hosts

# 2. users, dirs, permissions (postinst normally creates users; recreate if a minimal image lacks them)
getent passwd munge >/dev/null || useradd -r -M -d /nonexistent -s /usr/sbin/nologin munge
getent passwd slurm >/dev/null || useradd -r -M -d /nonexistent -s /usr/sbin/nologin slurm
install -d -o munge -g munge -m 0700 /etc/munge /var/log/munge
install -d -o munge -g munge -m 0711 /var/lib/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key
fi
chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key
install -d -o slurm -g slurm -m 0755 /var/lib/slurm /var/lib/slurm/slurmctld /var/log/slurm
install -d -o root  -g root  -m 0755 /var/lib/slurm/slurmd /etc/slurm

ACCT="AccountingStorageType=accounting_storage/none"
if [ "$WITH_DBD" = 1 ]; then
  ACCT="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1"
fi

# optional fake GPUs (gpu GRES backed by dummy char devices) so that --gres=gpu:N / --gpus=N are accepted
FAKE_GPUS=${FAKE_GPUS:-0}
GRES_TYPES=""; NODE_GRES=""
if [ "$FAKE_GPUS" -gt 0 ]; then
  GRES_TYPES="GresTypes=gpu
AccountingStorageTRES=gres/gpu"; NODE_GRES="Gres=gpu:${FAKE_GPUS}"
  # slurmd only counts a gpu GRES that has a device File (Count-only and Flags=CountOnly report 0);
  # any existing char devices do, since TaskPlugin=task/none does no device binding.
  FILES=$(echo /dev/null /dev/zero /dev/full /dev/random /dev/urandom | cut -d' ' -f1-"$FAKE_GPUS" | tr ' ' ',')
  echo "NodeName=${HOST} Name=gpu File=${FILES}" > /etc/slurm/gres.conf
else
  rm -f /etc/slurm/gres.conf
fi

cat > /etc/slurm/slurm.conf.new <<EOF
ClusterName=localci
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=/var/lib/slurm/slurmctld
SlurmdSpoolDir=/var/lib/slurm/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerType=sched/backfill
# schedule right after submit/completion instead of batching for up to 3s (default batch_sched_delay=3)
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
# keep finished jobs visible to squeue/scontrol for 1h (default 300s)
MinJobAge=3600
MaxJobCount=100000
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
# completion records in a text file: lets 'sacct -c' work without slurmdbd
JobCompType=jobcomp/filetxt
JobCompLoc=/var/log/slurm/jobcomp.log
${ACCT}
${GRES_TYPES}
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${NCPU} RealMemory=${MEM} ${NODE_GRES} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
mv /etc/slurm/slurm.conf.new /etc/slurm/slurm.conf
chmod 0644 /etc/slurm/slurm.conf

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# 3. munged (runs as munge user, like Debian's unit)
if ! alive /run/munge/munged.pid; then
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
fi
for i in $(seq 50); do munge -n </dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n </dev/null | unmunge >/dev/null || { echo "munge not working"; exit 1; }
log "munge OK"

# 4. optional accounting DB (mariadb + slurmdbd)
if [ "$WITH_DBD" = 1 ]; then
  install -d -o mysql -g mysql -m 0755 /run/mysqld
  if [ ! -d /var/lib/mysql/mysql ]; then
    mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
  fi
  if ! alive /run/mysqld/mysqld.pid; then
    log "starting mariadb"
    (setsid /usr/sbin/mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
        --pid-file=/run/mysqld/mysqld.pid --bind-address=127.0.0.1 --skip-networking=0 \
        --innodb-buffer-pool-size=64M --innodb-log-file-size=16M \
        >/var/log/slurm/mariadb.log 2>&1 < /dev/null &)
  fi
  for i in $(seq 100); do mariadb -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
  mariadb -uroot -e "CREATE DATABASE IF NOT EXISTS slurm_acct_db;
    CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmdbpass';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
  log "mariadb OK"
  cat > /etc/slurm/slurmdbd.conf <<EOF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=slurm
PidFile=/run/slurmdbd.pid
LogFile=/var/log/slurm/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageLoc=slurm_acct_db
StorageUser=slurm
StoragePass=slurmdbpass
EOF
  chown slurm:slurm /etc/slurm/slurmdbd.conf; chmod 0600 /etc/slurm/slurmdbd.conf
  if ! alive /run/slurmdbd.pid; then
    log "starting slurmdbd"
    /usr/sbin/slurmdbd
  fi
  for i in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/6819) 2>/dev/null && break; sleep 0.2; done
  log "slurmdbd listening"
fi

# 5. slurmctld + slurmd (they daemonize themselves and write pid files)
if ! alive /run/slurmctld.pid; then
  log "starting slurmctld"
  /usr/sbin/slurmctld   # first ever start: no state -> fine; -c would wipe job state
fi
if [ "$WITH_DBD" = 1 ]; then
  # register cluster in the accounting DB (idempotent)
  # slurmctld registers the cluster with slurmdbd itself on first start; wait for it
  for i in $(seq 100); do sacctmgr -n list cluster localci format=cluster 2>/dev/null | grep -q localci && break; sleep 0.1; done
  sacctmgr -n list cluster localci format=cluster | grep -q localci || sacctmgr -i add cluster localci
fi
if ! alive /run/slurmd.pid; then
  log "starting slurmd"
  /usr/sbin/slurmd
fi

# 6. wait until the node is idle (clear a DRAIN/INVAL left in saved state by an earlier, different config)
for i in $(seq 50); do sinfo -h -N -o '%T' | grep -qvE 'unknown|down' && break; sleep 0.1; done
case "$(sinfo -h -N -o '%T' | head -1)" in
  drain*|inval*|down*) scontrol update nodename="$HOST" state=resume 2>/dev/null || true;;
esac
for i in $(seq 150); do
  st=$(sinfo -h -N -o '%T' 2>/dev/null | head -1 || true)
  case "$st" in idle|mixed|allocated) break;; esac
  sleep 0.2
done
sinfo -h -N -o '%N %T' | grep -Eq 'idle|mixed|allocated' || { sinfo -N -l; tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log; exit 1; }
log "SLURM up: $(sinfo -h -N -o '%N %C %m %T')"

# 7. end-to-end smoke job (first job after a cold start waits ~2s for the first scheduler pass)
if [ "${SMOKE:-1}" = 1 ]; then
  # (sbatch --wait polls with growing sleeps, up to ~10s; poll ourselves instead)
  jid=$(cd /tmp && sbatch --parsable -o /dev/null -t 1 --wrap true)
  for i in $(seq 300); do
    st=$(squeue -h -t all -j "$jid" -o %T); case "$st" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL) break;; esac; sleep 0.1
  done
  [ "$st" = COMPLETED ] || { echo "smoke job $jid: $st"; exit 1; }
  log "smoke job $jid COMPLETED"
fi
