package steps

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/runbookhq/runbook/runbook/transport"
)

// This file holds what several kinds share: running helper commands as the
// login user, capturing output, local paths and checksums, and reading the
// key=value lines the kinds' remote scripts print.

// quote quotes s for the host's POSIX shell.
func quote(s string) string { return transport.Quote(s) }

// asLogin returns x without become: for what must run as the login user,
// who owns what SFTP writes.
func (x *Exec) asLogin() *Exec {
	c := *x
	c.Become, c.BecomeUser = false, ""
	return &c
}

// becomesOther says whether the step runs its commands as a user other
// than root and the login user: that user cannot read the login user's
// private directories.
func (x *Exec) becomesOther() bool {
	return x.Become && x.BecomeUser != "" && x.BecomeUser != "root"
}

// capture runs cmd like Run (its output also goes to the step's Stdout and
// Stderr) and returns the output, up to max bytes of stdout (64 KiB of
// stderr); over says stdout was longer.
func (x *Exec) capture(ctx context.Context, cmd transport.Command, max int) (stdout, stderr string, rc int, over bool, err error) {
	out, errb := &cappedBuffer{max: max}, &cappedBuffer{max: 64 << 10}
	cmd.Stdout, cmd.Stderr = tee(out, x.Stdout), tee(errb, x.Stderr)
	res, err := x.Run(ctx, cmd)
	return out.String(), errb.String(), res.ExitCode, out.over, err
}

// tee writes to b and, when it is set, to w.
func tee(b *cappedBuffer, w io.Writer) io.Writer {
	if w == nil {
		return b
	}
	return io.MultiWriter(b, w)
}

// cappedBuffer keeps the first max bytes written to it and notes whether
// more came.
type cappedBuffer struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	keep := p
	if room := b.max - b.buf.Len(); len(p) > room {
		b.over = true
		keep = p[:max(room, 0)]
	}
	b.buf.Write(keep)
	return len(p), nil
}

func (b *cappedBuffer) String() string { return b.buf.String() }

// runScript runs a helper script of the step with x's settings and
// returns its output; a non-zero exit is an error naming what failed, with
// the script's last stderr lines.
func runScript(ctx context.Context, x *Exec, what, script string) (string, error) {
	out, errOut, rc, err := x.Output(ctx, transport.Command{Shell: script})
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if rc != 0 {
		return out, fmt.Errorf("%s: exit %d%s", what, rc, stderrTail(errOut))
	}
	return out, nil
}

// stderrTail formats the last lines of a command's stderr for an error
// message: ": line; line", or "" when there is none.
func stderrTail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	t := strings.TrimSpace(strings.Join(lines, "; "))
	if t == "" {
		return ""
	}
	if len(t) > 500 {
		t = t[:500] + "..."
	}
	return ": " + t
}

// keyValues reads the key=value lines a remote script printed. Lines
// without '=' are ignored; a repeated key collects its values in order,
// separated by newlines.
func keyValues(out string) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if old, dup := m[k]; dup {
			m[k] = old + "\n" + v
			continue
		}
		m[k] = v
	}
	return m
}

// localPath resolves a local source path against the directory of the
// file the step was written in.
func localPath(x *Exec, p string) string {
	if filepath.IsAbs(p) || x.BaseDir == "" {
		return p
	}
	return filepath.Join(x.BaseDir, p)
}

// pathElem makes s one path element: s itself when it is made of letters,
// digits, '.', '-' and '_' only (inventory host names and run ids are), else
// '%' and the hex of its bytes. No two strings give the same element (no
// plain one has a '%'), so two hosts never share a backup directory.
func pathElem(s string) string {
	plain := s != "" && s != "." && s != ".."
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
	}
	if plain {
		return s
	}
	return "%" + hex.EncodeToString([]byte(s))
}

// sha256Hex is the hex SHA-256 of b.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fileSHA256 returns the hex SHA-256 and size of a local file.
func fileSHA256(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// isSHA256 reports whether s looks like a hex SHA-256.
func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// parseMode parses an octal permission string such as "0644" or "644".
func parseMode(s string) (uint32, error) {
	if s == "" || len(s) > 5 {
		return 0, fmt.Errorf("mode %q: write it in octal, like \"0644\"", s)
	}
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, fmt.Errorf("mode %q: write it in octal, like \"0644\"", s)
	}
	return uint32(m), nil
}

// sleepCtx waits d, or less when ctx ends first; it reports whether the
// whole wait passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// cutOff reports whether err means the command never ran to its end
// because the host was cut off or the step's context ended: errors a
// fallback must not paper over.
func cutOff(ctx context.Context, err error) bool {
	return errors.Is(err, transport.ErrUnreachable) || ctx.Err() != nil
}

// cleanupCtx is a context for cleaning up after a step: it survives the
// step's own cancellation for a short while.
func cleanupCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// staged is a private directory on the host holding one file the step
// put there.
type staged struct {
	x    *Exec // who made the directory, and removes it
	dir  string
	path string
}

// stage puts the content of r on the host as name in a fresh private
// directory (mktemp -d, mode 0700) whose name carries the inventory host
// name (several inventory hosts may share one filesystem; mktemp makes it
// unique anyway). The file goes over SFTP as the login user, which root can
// then read. A become user other than root could not read the login user's
// private directory, so for such a step the file goes through that user's
// own mktemp and cat instead, on standard input. The caller must call
// remove.
func stage(ctx context.Context, x *Exec, name string, r io.Reader, mode os.FileMode) (*staged, error) {
	name = pathElem(name)
	mk := `umask 077 && mktemp -d "${TMPDIR:-/tmp}/runbook-` + pathElem(x.Host) + `.XXXXXXXXXX"`
	if x.becomesOther() {
		script := `set -e
d=$(` + mk + `)
cat > "$d/` + name + `"
chmod ` + fmt.Sprintf("%04o", mode.Perm()) + ` "$d/` + name + `"
printf 'dir=%s\n' "$d"`
		out, errOut, rc, err := x.Output(ctx, transport.Command{Shell: script, Stdin: r})
		if err != nil {
			return nil, fmt.Errorf("staging %s on the host: %w", name, err)
		}
		dir := keyValues(out)["dir"]
		if rc != 0 || !strings.HasPrefix(dir, "/") {
			return nil, fmt.Errorf("staging %s on the host as %s: exit %d%s", name, x.BecomeUser, rc, stderrTail(errOut))
		}
		return &staged{x: x, dir: dir, path: dir + "/" + name}, nil
	}
	lx := x.asLogin()
	out, err := runScript(ctx, lx, "making a private temporary directory on the host", mk)
	if err != nil {
		return nil, err
	}
	dir := strings.TrimSpace(out)
	if !strings.HasPrefix(dir, "/") || strings.ContainsAny(dir, "\n'") {
		return nil, fmt.Errorf("making a private temporary directory on the host: mktemp printed %q", dir)
	}
	s := &staged{x: lx, dir: dir, path: dir + "/" + name}
	if err := x.T.Upload(ctx, s.path, r, mode); err != nil {
		s.remove(ctx)
		return nil, fmt.Errorf("uploading %s: %w", s.path, err)
	}
	return s, nil
}

// remove deletes the staging directory, even when ctx has ended.
func (s *staged) remove(ctx context.Context) {
	cctx, cancel := cleanupCtx(ctx)
	defer cancel()
	s.x.Output(cctx, transport.Command{Argv: []string{"rm", "-rf", "--", s.dir}, Timeout: 30 * time.Second})
}

// waitUntil is when a wait of d that starts now must end: after d, or
// when ctx does if that is sooner (the step's own timeout), so that the
// wait can end with its own message before the context cuts it off.
func waitUntil(ctx context.Context, d time.Duration) time.Time {
	end := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(end) {
		return dl
	}
	return end
}

// roundWait rounds a wait for messages: to the second, or to the
// millisecond under a second.
func roundWait(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
