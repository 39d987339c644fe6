package containers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The node image: Debian 12 from Debian's own packages (mmdebstrap), with
// systemd, sshd, sudo and apt, plus the lab's layer (users, the local apt
// repository, rbdemo installed). Both are built once into the cache, each
// under a key of its recipe, so that a change to the lab's layer costs
// seconds and not a new download.
const (
	// Suite is the Debian release the nodes run.
	Suite = "bookworm"
	// DefaultMirror is where mmdebstrap fetches Debian's packages.
	DefaultMirror = "http://deb.debian.org/debian"
)

// baseIncludes are the packages the nodes need beyond Debian's minbase.
var baseIncludes = []string{
	"systemd", "systemd-sysv", "dbus", "openssh-server", "sudo", "apt-utils",
	"netcat-openbsd", "curl", "procps", "iproute2",
}

// Users of the node image: LoginUser logs in with the lab's key and has
// sudo without a password; PasswordUser's sudo asks for PasswordUserSudo.
const (
	LoginUser        = "runbook"
	LoginUID         = 1000
	PasswordUser     = "rbpw"
	PasswordUID      = 1001
	PasswordUserSudo = "rbpw-lab-password"
)

// setupScript turns the base system into a lab node image. It runs inside
// the image (systemd-nspawn, not booted) with the package trees under
// /var/tmp/rb-setup/pkgs.
var setupScript = `set -eu
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
# The nodes use the lab's repository only, so apt never needs the network.
rm -f /etc/apt/sources.list /etc/apt/sources.list.d/*
useradd -m -u ` + fmt.Sprint(LoginUID) + ` -U -s /bin/bash ` + LoginUser + `
useradd -m -u ` + fmt.Sprint(PasswordUID) + ` -U -s /bin/bash ` + PasswordUser + `
printf '%s ALL=(ALL) NOPASSWD: ALL\n' ` + LoginUser + ` > /etc/sudoers.d/` + LoginUser + `
printf '%s ALL=(ALL) ALL\n' ` + PasswordUser + ` > /etc/sudoers.d/` + PasswordUser + `
chmod 0440 /etc/sudoers.d/` + LoginUser + ` /etc/sudoers.d/` + PasswordUser + `
echo '` + PasswordUser + `:` + PasswordUserSudo + `' | chpasswd
# Each node gets its own host key and listen address from the lab.
rm -f /etc/ssh/ssh_host_*
cat > /etc/ssh/sshd_config.d/10-runbook-lab.conf <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
MaxSessions 100
MaxStartups 100:30:200
CONF
# A container has no consoles to log in on, and no timers may start apt
# behind a test's back.
systemctl mask console-getty.service getty@tty1.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
mkdir -p /srv/rbrepo /etc/runbook-lab
for d in /var/tmp/rb-setup/pkgs/*/; do dpkg-deb --root-owner-group -Zgzip --build "$d" /srv/rbrepo/ >/dev/null; done
cd /srv/rbrepo
apt-ftparchive packages . > Packages
apt-ftparchive release . > Release
echo 'deb [trusted=yes] file:/srv/rbrepo ./' > /etc/apt/sources.list.d/rbdemo.list
apt-get update -q
apt-get install -y -q rbdemo=` + RbdemoInitialVersion + `
echo '# local-edit' >> /etc/rbdemo/rbdemo.conf
apt-get clean
rm -rf /var/tmp/rb-setup /var/lib/apt/lists/partial/* /var/log/apt/* /var/log/dpkg.log
: > /etc/machine-id
`

// DefaultCacheDir is $XDG_CACHE_HOME/runbook, else ~/.cache/runbook.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "runbook"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("container lab: no cache directory: set XDG_CACHE_HOME or HOME")
	}
	return filepath.Join(home, ".cache", "runbook"), nil
}

// ImageOptions configure EnsureImage.
type ImageOptions struct {
	// CacheDir holds the images (default DefaultCacheDir()).
	CacheDir string
	// Mirror is the Debian mirror (default DefaultMirror).
	Mirror string
	// Progress receives a line per build stage and the builders' output.
	Progress io.Writer
}

// Image is a built node image.
type Image struct {
	// Rootfs is the image's root directory (the nodes' lower layer).
	Rootfs string
	// Key names the image's recipe.
	Key string
	// Built says this call built it (it was not in the cache).
	Built bool
}

func recipeKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func baseKey() string {
	return recipeKey("base/1", Suite, "minbase", strings.Join(baseIncludes, ","))
}

func labKey() string {
	return recipeKey("lab/1", baseKey(), setupScript, recipeText())
}

// EnsureImage returns the node image, building what the cache lacks. Two
// processes building at once take turns (a lock in the cache directory).
func EnsureImage(ctx context.Context, opts ImageOptions) (*Image, error) {
	if opts.CacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return nil, err
		}
		opts.CacheDir = d
	}
	if opts.Mirror == "" {
		opts.Mirror = DefaultMirror
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	dir := filepath.Join(opts.CacheDir, "containers")
	labDir := filepath.Join(dir, "debian-12-lab-"+labKey())
	img := &Image{Rootfs: filepath.Join(labDir, "rootfs"), Key: labKey()}
	if isReady(labDir) {
		return img, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("container lab: image cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".build.lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()
	if isReady(labDir) { // built by another process while we waited
		return img, nil
	}
	removeFailedBuilds(dir)
	baseDir := filepath.Join(dir, "debian-12-base-"+baseKey())
	if !isReady(baseDir) {
		start := time.Now()
		fmt.Fprintf(opts.Progress, "container lab: building the Debian 12 base image with mmdebstrap from %s (first time only, a few minutes)\n", opts.Mirror)
		if err := buildInto(baseDir, func(tmp string) error { return buildBase(ctx, tmp, opts) }); err != nil {
			return nil, err
		}
		fmt.Fprintf(opts.Progress, "container lab: base image built in %s\n", time.Since(start).Round(time.Second))
	}
	start := time.Now()
	fmt.Fprintf(opts.Progress, "container lab: building the lab image (users, sshd, the rbdemo apt repository)\n")
	if err := buildInto(labDir, func(tmp string) error { return buildLab(ctx, filepath.Join(baseDir, "rootfs"), tmp, opts) }); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Progress, "container lab: lab image built in %s\n", time.Since(start).Round(time.Second))
	img.Built = true
	return img, nil
}

func isReady(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, "ready"))
	return err == nil
}

// buildInto builds an image into a temporary directory beside dir and
// renames it into place only when the build succeeded; a failed build
// leaves nothing behind.
func buildInto(dir string, build func(tmp string) error) error {
	os.RemoveAll(dir) // a directory without its ready mark is a failed build
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("container lab: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("container lab: %w", err)
	}
	if err := build(tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "ready"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("container lab: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("container lab: %w", err)
	}
	return nil
}

func buildBase(ctx context.Context, tmp string, opts ImageOptions) error {
	if _, err := lookTool("mmdebstrap"); err != nil {
		return fmt.Errorf("container lab: building the node image needs mmdebstrap (apt-get install mmdebstrap): %w", err)
	}
	rootfs := filepath.Join(tmp, "rootfs")
	argv := []string{"mmdebstrap", "--mode=root", "--variant=minbase", "--format=directory",
		"--include=" + strings.Join(baseIncludes, ","), Suite, rootfs, opts.Mirror}
	if err := runIsolated(ctx, opts.Progress, "mmdebstrap", argv); err != nil {
		return fmt.Errorf("container lab: building the Debian 12 image failed (is %s reachable?): %w", opts.Mirror, err)
	}
	return nil
}

func buildLab(ctx context.Context, base, tmp string, opts ImageOptions) error {
	rootfs := filepath.Join(tmp, "rootfs")
	if err := runIsolated(ctx, opts.Progress, "cp", []string{"cp", "-a", "--reflink=auto", base, rootfs}); err != nil {
		return fmt.Errorf("container lab: copying the base image: %w", err)
	}
	setup := filepath.Join(rootfs, "var", "tmp", "rb-setup")
	for _, p := range repoPackages() {
		if err := p.writeTree(filepath.Join(setup, "pkgs")); err != nil {
			return fmt.Errorf("container lab: writing package %s %s: %w", p.Name, p.Version, err)
		}
	}
	if err := os.WriteFile(filepath.Join(setup, "setup.sh"), []byte(setupScript), 0o755); err != nil {
		return fmt.Errorf("container lab: %w", err)
	}
	argv := append(nspawnCommon(rootfs), "--machine=rb-image-setup", "--setenv=DEBIAN_FRONTEND=noninteractive", "/bin/sh", "/var/tmp/rb-setup/setup.sh")
	if err := runIsolated(ctx, opts.Progress, "setup", argv); err != nil {
		return fmt.Errorf("container lab: setting up the lab image: %w", err)
	}
	return nil
}

// nspawnCommon are the systemd-nspawn options of every container: no
// registration with systemd-machined (there may be no host systemd), the
// caller's own scope, and nothing copied in from the host.
func nspawnCommon(rootfs string) []string {
	return []string{"systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "-D", rootfs,
		"--resolv-conf=off", "--timezone=off", "--link-journal=no"}
}

// lockFile takes an exclusive flock on path, waiting while another
// process holds it, until ctx ends.
func lockFile(ctx context.Context, path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("container lab: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("container lab: locking %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("container lab: waiting for another image build: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// removeFailedBuilds removes the temporary directories of builds that
// did not end (a killed process); the caller holds the build lock.
func removeFailedBuilds(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, ".debian-12-*.tmp-*"))
	for _, t := range tmps {
		os.RemoveAll(t)
	}
}
