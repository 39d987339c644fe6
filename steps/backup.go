package steps

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Backup]("backup") }

// BackupRoot is where backups are kept on a host, under RUN_ID/HOST/.
const BackupRoot = "/var/backups/runbook"

// Backup archives paths on the host and keeps a verified copy on the
// controller: `backup: {name, paths: [...], missing: fail|ignore}`. The
// archive is a tar.gz at BackupRoot/RUN_ID/HOST/NAME.tar.gz on the host
// (HOST is the inventory name, so hosts sharing a filesystem do not
// collide; directories 0700, made with become), with members relative to
// / so that restore extracts them with -C /. Its SHA-256 is taken on the
// host, the file is downloaded to RUN_DIR/backups/HOST/NAME.tar.gz (0600,
// directories 0700) and the download must have the same SHA-256. A path
// that does not exist fails the step unless missing: ignore. It reports
// changed: it writes an archive on the host, each time it runs.
//
// Once verified, its Result.Data carries "backup" (the name), "remote",
// "local" and "sha256", which the engine keeps for restore (Exec.Backup;
// BackupFromData reads them).
type Backup struct {
	Name    string   `yaml:"name" desc:"Name of the backup, for restore: letters, digits, '.', '_' and '-'." required:"true"`
	Paths   []string `yaml:"paths" desc:"Absolute paths of the files and directories to archive." required:"true"`
	Missing string   `yaml:"missing" desc:"What a path that does not exist does: fail (default) or ignore." enum:"fail,ignore"`
}

var backupNameRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`) })

// Validate implements runbook.StepSpec.
func (b *Backup) Validate(c *runbook.Check) {
	if b.Name == "" {
		c.Errorf("", "backup: needs name: (restore finds the backup by it)")
	} else if !runbook.HasTemplate(b.Name) && !backupNameRe().MatchString(b.Name) {
		c.Errorf("name", "backup: name %q: use letters, digits, '.', '_' and '-'", b.Name)
	}
	if len(b.Paths) == 0 {
		c.Errorf("", "backup: needs paths: (the files and directories to archive)")
	}
	for _, p := range b.Paths {
		if !runbook.HasTemplate(p) {
			if err := checkBackupPath(p); err != nil {
				c.Errorf("paths", "backup: %v", err)
			}
		}
	}
	switch b.Missing {
	case "", "fail", "ignore":
	default:
		c.Errorf("missing", "backup: missing: %q: use fail or ignore", b.Missing)
	}
}

func checkBackupPath(p string) error {
	switch {
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("path %q must be absolute", p)
	case path.Clean(p) == "/":
		return fmt.Errorf("path %q: archiving the whole root is not supported", p)
	case strings.ContainsAny(p, "\n\x00"):
		return fmt.Errorf("path %q contains a newline", p)
	}
	return nil
}

// Describe implements Kind.
func (b *Backup) Describe() string {
	return "backup: " + b.Name + " = " + strings.Join(b.Paths, " ") + " -> " + BackupRoot + "/RUN_ID/HOST/" + b.Name + ".tar.gz"
}

// backupScript archives members (paths relative to /) into file, and
// prints missing=PATH for each absent path, then sha256= and size=. With
// failMissing it stops with exit 3 before archiving when one is absent.
func backupScript(dir, file string, members []string, failMissing bool) string {
	var b strings.Builder
	b.WriteString("set -e\numask 077\n")
	b.WriteString("mkdir -p " + quote(dir) + "\nchmod 0700 " + quote(BackupRoot) + " " + quote(path.Dir(dir)) + " " + quote(dir) + "\n")
	b.WriteString("set --\nmissing=\nfor p in")
	for _, m := range members {
		b.WriteString(" " + quote(m))
	}
	b.WriteString(`; do
  if [ -e "/$p" ] || [ -L "/$p" ]; then set -- "$@" "$p"; else echo "missing=/$p"; missing=1; fi
done
`)
	if failMissing {
		b.WriteString("[ -z \"$missing\" ] || exit 3\n")
	}
	b.WriteString("f=" + quote(file) + "\n")
	b.WriteString(`tar -czf "$f.tmp" -C / -T /dev/null "$@"
mv -f "$f.tmp" "$f"
s=$(sha256sum < "$f")
echo "sha256=${s%% *}"
echo "size=$(wc -c < "$f")"`)
	return b.String()
}

// Run implements Kind.
func (b *Backup) Run(ctx context.Context, x *Exec) Result {
	if !backupNameRe().MatchString(b.Name) {
		return Fail("", "backup: name %q: use letters, digits, '.', '_' and '-'", b.Name)
	}
	if x.RunID == "" || x.RunDir == "" {
		return Fail("", "backup: no run id or run directory to keep the backup under")
	}
	members := make([]string, len(b.Paths))
	for i, p := range b.Paths {
		if err := checkBackupPath(p); err != nil {
			return Fail("", "backup: %v", err)
		}
		members[i] = strings.TrimPrefix(path.Clean(p), "/")
	}
	dir := BackupRoot + "/" + pathElem(x.RunID) + "/" + pathElem(x.Host)
	remote := dir + "/" + b.Name + ".tar.gz"
	script := backupScript(dir, remote, members, b.Missing != "ignore")
	// "backup" goes into the data only once the backup is verified: the
	// engine keeps a record for restore from any data that has it.
	data := map[string]any{"name": b.Name, "remote": remote, "paths": b.Paths}
	out, errOut, rc, err := x.Output(ctx, transport.Command{Shell: script})
	if err != nil {
		return Broken(script, fmt.Errorf("backup %s: %w", b.Name, err))
	}
	kv := keyValues(out)
	var missing []string
	if kv["missing"] != "" {
		missing = strings.Split(kv["missing"], "\n")
		data["missing"] = missing
	}
	r := Result{Status: Failed, RC: &rc, Command: script, Data: data}
	switch {
	case rc == 3 && len(missing) > 0:
		r.Err = fmt.Errorf("backup %s: not on the host: %s (add missing: ignore to archive the rest)", b.Name, strings.Join(missing, ", "))
		return r
	case rc != 0:
		r.Err = fmt.Errorf("backup %s: exit %d%s", b.Name, rc, stderrTail(errOut))
		return r
	}
	sum := kv["sha256"]
	size, serr := strconv.ParseInt(strings.TrimSpace(kv["size"]), 10, 64)
	if !isSHA256(sum) || serr != nil {
		r.Err = fmt.Errorf("backup %s: unexpected output %q", b.Name, out)
		return r
	}
	local, lsum, lsize, _, err := downloadInto(ctx, x, remote, filepath.Join(x.RunDir, "backups", pathElem(x.Host)), b.Name+".tar.gz")
	if err != nil {
		r.Err = fmt.Errorf("backup %s: %w", b.Name, err)
		return r
	}
	if lsum != sum || lsize != size {
		os.Remove(local)
		r.Err = fmt.Errorf("backup %s: the downloaded copy has sha256 %s (%d bytes) but the host's has %s (%d bytes)", b.Name, lsum, lsize, sum, size)
		return r
	}
	data["backup"], data["local"], data["sha256"], data["size"] = b.Name, local, sum, size
	r.Status = Changed
	return r
}

// BackupFromData reads what a backup step's Result.Data says for restore:
// its name and record. ok is false for the data of any other step.
func BackupFromData(data map[string]any) (name string, rec BackupRecord, ok bool) {
	name, _ = data["backup"].(string)
	rec.Remote, _ = data["remote"].(string)
	rec.Local, _ = data["local"].(string)
	rec.SHA256, _ = data["sha256"].(string)
	if name == "" || rec.Remote == "" || rec.Local == "" || rec.SHA256 == "" {
		return "", BackupRecord{}, false
	}
	return name, rec, true
}
