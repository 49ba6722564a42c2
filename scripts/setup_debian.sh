#!/usr/bin/env bash
# Installs the Debian packages the tests use as real peers (see ../shared/design.md "Test peers").
# This list is the one place they are named: add a package here when a test needs it.
# Needs root (CI runs as root); run once per machine, it is a no-op when all are installed.
set -euo pipefail

PACKAGES=(
  awscli           # AWS CLI v2 at /usr/bin/aws: client of our ECS/EC2 servers and credential_process
  pass             # pass backend
  gnupg            # pass's encryption
  age              # passage backend's encryption (Debian's "passage" package is a game, not the tool)
  gnome-keyring    # secret-service backend (headless daemon)
  libsecret-tools  # tests only: secret-tool, an independent Secret Service client (interop peer)
  dbus             # dbus-daemon: the private session bus of the gnome-keyring tests
  dbus-x11         # dbus-launch
  libkf5wallet-bin # kwallet backend: real kwalletd5 (headless, offscreen Qt) and kwallet-query
  systemd          # tests only: busctl, an independent client that drives kwalletd (pamOpen...)
  keyutils         # keyctl backend
  python3-jwcrypto # independent JWE implementation for the file backend format
  util-linux       # unshare, flock, script
  zsh              # tests only: the `completion zsh` script runs in real zsh
  fish             # tests only: `export --format fish` and `completion fish` run in real fish
  groff-base       # tests only: the --help-man page renders without warnings
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup_debian: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "setup_debian: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0 -q)
apt-get "${apt_opts[@]}" update
apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"
