#!/usr/bin/env bash
# Private sshd on 127.0.0.1:${SSHD_PORT:-2222} for root with key auth only.
# Uses its own config/host key/authorized_keys under $SSHD_DIR; does not touch /etc/ssh/sshd_config
# or /root/.ssh. Idempotent.
set -euo pipefail
SSHD_DIR=${SSHD_DIR:?set SSHD_DIR (up.sh does)}
PORT=${SSHD_PORT:-2222}
for p in openssh-server openssh-client; do
  dpkg -s $p >/dev/null 2>&1 || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends openssh-server openssh-client >/dev/null; break; }
done
install -d -m 0700 "$SSHD_DIR"
install -d -m 0755 /run/sshd            # privilege-separation dir, sshd refuses to start without it
[ -f "$SSHD_DIR/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/host_ed25519"
[ -f "$SSHD_DIR/client_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/client_ed25519"
cp "$SSHD_DIR/client_ed25519.pub" "$SSHD_DIR/authorized_keys"; chmod 0600 "$SSHD_DIR/authorized_keys"
cat > "$SSHD_DIR/sshd_config" <<EOF
Port $PORT
ListenAddress 127.0.0.1
HostKey $SSHD_DIR/host_ed25519
PidFile $SSHD_DIR/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AuthorizedKeysFile $SSHD_DIR/authorized_keys
Subsystem sftp internal-sftp
MaxSessions 100
MaxStartups 100:30:200
LogLevel ERROR
EOF
# known_hosts entry so clients can use strict host-key checking
echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")" > "$SSHD_DIR/known_hosts"
if ! { [ -s "$SSHD_DIR/sshd.pid" ] && kill -0 "$(cat "$SSHD_DIR/sshd.pid")" 2>/dev/null; }; then
  /usr/sbin/sshd -f "$SSHD_DIR/sshd_config" -E "$SSHD_DIR/sshd.log"
fi
for i in $(seq 50); do
  ssh -q -p "$PORT" -i "$SSHD_DIR/client_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$SSHD_DIR/known_hosts" \
      -o StrictHostKeyChecking=yes root@127.0.0.1 true 2>/dev/null && break; sleep 0.1
done
ssh -p "$PORT" -i "$SSHD_DIR/client_ed25519" -o BatchMode=yes -o UserKnownHostsFile="$SSHD_DIR/known_hosts" \
    root@127.0.0.1 'echo "sshd OK: $(whoami)@$(hostname) sbatch=$(command -v sbatch)"'
