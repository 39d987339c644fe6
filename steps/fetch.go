package steps

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/runbookhq/runbook/runbook"
	"github.com/runbookhq/runbook/runbook/transport"
)

func init() { register[Fetch]("fetch") }

// Fetch downloads a file from the host into the run directory, under
// fetched/HOST/, and records its SHA-256 and size: `fetch: {src, dest}`.
// dest is a relative path there (default: src without its leading /); it
// can never lead out of that directory. The file comes over SFTP as the
// login user; when that fails and the step has become, `cat` through
// become sends it instead (for files only root may read). It changes
// nothing on the host, so it reports ok.
type Fetch struct {
	Src  string `yaml:"src" desc:"Absolute path of the file on the host." required:"true"`
	Dest string `yaml:"dest" desc:"Relative path under the run directory's fetched/HOST/ (default: src without its leading /)."`
}

// Validate implements runbook.StepSpec.
func (f *Fetch) Validate(c *runbook.Check) {
	if f.Src == "" {
		c.Errorf("", "fetch: needs src: (the file on the host)")
	} else if !runbook.HasTemplate(f.Src) && !strings.HasPrefix(f.Src, "/") {
		c.Errorf("src", "fetch: src %q must be an absolute path", f.Src)
	}
	if f.Dest != "" && !runbook.HasTemplate(f.Dest) {
		if err := checkLocalName(f.Dest); err != nil {
			c.Errorf("dest", "fetch: %v", err)
		}
	}
}

// checkLocalName accepts a relative path that stays inside its directory.
func checkLocalName(p string) error {
	if !filepath.IsLocal(p) || strings.HasSuffix(p, "/") {
		return fmt.Errorf("dest %q must be a relative file path that stays inside the run directory", p)
	}
	return nil
}

// Describe implements Kind.
func (f *Fetch) Describe() string { return "fetch: " + f.Src + " -> fetched/HOST/" + f.dest() }

func (f *Fetch) dest() string {
	if f.Dest != "" {
		return f.Dest
	}
	return strings.TrimPrefix(path.Clean("/"+f.Src), "/")
}

// Run implements Kind.
func (f *Fetch) Run(ctx context.Context, x *Exec) Result {
	if !strings.HasPrefix(f.Src, "/") {
		return Fail("", "fetch: src %q must be an absolute path", f.Src)
	}
	rel := f.dest()
	if err := checkLocalName(rel); err != nil {
		return Fail("", "fetch: %v", err)
	}
	if x.RunDir == "" {
		return Fail("", "fetch: no run directory to fetch into")
	}
	dir := filepath.Join(x.RunDir, "fetched", pathElem(x.Host))
	local, sum, size, via, err := downloadInto(ctx, x, f.Src, dir, filepath.FromSlash(rel))
	data := map[string]any{"src": f.Src, "dest": local, "sha256": sum, "size": size, "via": via}
	if err != nil {
		return Result{Status: Failed, Data: data, Err: fmt.Errorf("fetch: %w", err)}
	}
	return Result{Status: OK, Command: via + " " + f.Src, Data: data}
}

// downloadInto downloads the host file src to rel under dir (created 0700
// with its parents inside dir; the file is 0600), through a .part file
// renamed into place only once complete. os.Root keeps every file
// operation inside dir, whatever symlinks it holds.
func downloadInto(ctx context.Context, x *Exec, src, dir, rel string) (local, sum string, size int64, via string, err error) {
	if err := mkdirPrivate(dir); err != nil {
		return "", "", 0, "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", "", 0, "", err
	}
	defer root.Close()
	if d := filepath.Dir(rel); d != "." {
		if err := root.MkdirAll(d, 0o700); err != nil {
			return "", "", 0, "", err
		}
	}
	local = filepath.Join(dir, rel)
	part := rel + ".part"
	file, err := root.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return local, "", 0, "", err
	}
	defer func() {
		file.Close()
		if err != nil {
			root.Remove(part)
		}
	}()
	if via, err = download(ctx, x, src, file); err != nil {
		return local, "", 0, via, err
	}
	if err = file.Sync(); err != nil {
		return local, "", 0, via, err
	}
	if sum, size, err = fileSHA256(filepath.Join(dir, part)); err != nil {
		return local, "", 0, via, err
	}
	if err = root.Rename(part, rel); err != nil {
		return local, "", 0, via, err
	}
	return local, sum, size, via, nil
}

// mkdirPrivate makes dir and its missing parents, and makes dir itself
// mode 0700.
func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700)
}

// download copies the host file p into f (from its start): over SFTP as
// the login user, or, when that fails and the step has become, with cat
// through become. It says which way worked.
func download(ctx context.Context, x *Exec, p string, f *os.File) (string, error) {
	sftpErr := x.T.Download(ctx, p, f)
	if sftpErr == nil {
		return "sftp", nil
	}
	if !x.Become || cutOff(ctx, sftpErr) {
		return "sftp", fmt.Errorf("downloading %s: %w", p, sftpErr)
	}
	if err := f.Truncate(0); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	errb := &cappedBuffer{max: 4096}
	res, err := x.Run(ctx, transport.Command{Argv: []string{"cat", "--", p}, Stdout: f, Stderr: errb})
	if err != nil {
		return "cat", fmt.Errorf("downloading %s with cat through become: %w", p, err)
	}
	if res.ExitCode != 0 {
		return "cat", fmt.Errorf("downloading %s: over SFTP: %v; with cat through become: exit %d%s", p, sftpErr, res.ExitCode, stderrTail(errb.String()))
	}
	return "cat", nil
}
