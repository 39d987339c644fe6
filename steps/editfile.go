package steps

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/runbookhq/runbook/runbook/transport"
)

// This file holds what the kinds that edit a text file in place share
// (lineinfile, ini, toml): the file is read from the host, edited on the
// controller, and written back as copy writes a file, only when it differs
// and only if nobody changed it meanwhile.

// maxEditSize bounds the files the editing kinds read: configuration
// files are far smaller, and a file this large is more likely a mistake.
const maxEditSize = 4 << 20

// hostFile is a file of the host as an editing kind read it.
type hostFile struct {
	remoteFile
	// Path is the file read: the target of the path given when that was a
	// symbolic link, which the edit follows.
	Path    string
	Content []byte
}

// same reports whether f, inspected afresh, is still the file that was read.
func (h *hostFile) same(f remoteFile) bool {
	if h.Kind != "file" {
		return f.Kind == h.Kind
	}
	return f.Kind == "file" && f.SHA256 == sha256Hex(h.Content)
}

// readScript prints what readHostFile reads: key=value lines, then, for a
// regular file, a line "--" and the content.
func readScript(p string) string {
	return `f=` + quote(p) + `
if [ -L "$f" ]; then
  t=$(realpath -e -- "$f" 2>/dev/null) || { echo kind=dangling; exit 0; }
  printf 'target=%s\n' "$t"
  f=$t
fi
[ -d "$(dirname -- "$f")" ] || echo parent=missing
if [ -d "$f" ]; then echo kind=dir
elif [ -f "$f" ]; then
  st=$(stat -c '%a %u %g %U %G %s' -- "$f") || exit 1
  echo kind=file
  printf 'stat=%s\n' "$st"
  echo --
  exec cat -- "$f"
elif [ -e "$f" ]; then echo kind=other
else echo kind=absent
fi`
}

// readHostFile reads the file at p on the host (with the step's become),
// following a symbolic link.
func readHostFile(ctx context.Context, x *Exec, p string) (hostFile, error) {
	out, errOut, rc, over, err := x.outputCapped(ctx, transport.Command{Shell: readScript(p)}, maxEditSize+4096)
	if err != nil {
		return hostFile{}, fmt.Errorf("reading %s: %w", p, err)
	}
	if rc != 0 {
		return hostFile{}, fmt.Errorf("reading %s: exit %d%s", p, rc, stderrTail(errOut))
	}
	if over {
		return hostFile{}, fmt.Errorf("%s is larger than %d MiB: too large to edit", p, maxEditSize>>20)
	}
	head, content, hasContent := strings.Cut(out, "\n--\n")
	kv := keyValues(head)
	f := hostFile{Path: p, remoteFile: remoteFile{Kind: kv["kind"], ParentMissing: kv["parent"] == "missing"}}
	if t := kv["target"]; t != "" {
		if !strings.HasPrefix(t, "/") || strings.Contains(t, "\n") {
			return f, fmt.Errorf("reading %s: unexpected link target %q", p, t)
		}
		f.Path = t
	}
	switch f.Kind {
	case "absent", "dir", "other":
		return f, nil
	case "dangling":
		return f, fmt.Errorf("%s is a symbolic link to nothing", p)
	case "file":
	default:
		return f, fmt.Errorf("reading %s: unexpected output %q", p, head)
	}
	st := strings.Fields(kv["stat"])
	if !hasContent || len(st) != 6 {
		return f, fmt.Errorf("reading %s: unexpected output %q", p, head)
	}
	m, merr := strconv.ParseUint(st[0], 8, 32)
	size, serr := strconv.Atoi(st[5])
	if merr != nil || serr != nil {
		return f, fmt.Errorf("reading %s: unexpected output %q", p, head)
	}
	if size != len(content) {
		return f, fmt.Errorf("%s changed while it was read (%d bytes, %d read): run the step again", f.Path, size, len(content))
	}
	f.Mode, f.UID, f.GID, f.User, f.Group = uint32(m), st[1], st[2], st[3], st[4]
	f.Content = []byte(content)
	f.SHA256 = sha256Hex(f.Content)
	return f, nil
}

// outputCapped runs a helper command of the step and returns its output:
// up to max bytes of stdout (over says there was more) and 64 KiB of
// stderr.
func (x *Exec) outputCapped(ctx context.Context, cmd transport.Command, max int) (stdout, stderr string, rc int, over bool, err error) {
	out, errb := &cappedBuffer{max: max}, &cappedBuffer{max: 64 << 10}
	x.apply(&cmd)
	cmd.Stdout, cmd.Stderr = out, errb
	res, err := x.T.Run(ctx, cmd)
	return out.String(), errb.String(), res.ExitCode, out.over, err
}

// fileEdit is an edit of one text file of the host.
type fileEdit struct {
	kind   string // the step kind, for messages
	path   string
	create bool // make the file when it is missing
	attrs  fileAttrs
	// edit returns the new content of the file from its old one (empty
	// when the file does not exist); it reports a file it cannot read
	// (one that does not parse) with an error naming the line.
	edit func(old []byte, exists bool) ([]byte, error)
}

// apply reads the file, edits it and writes it back when it changed (in
// check mode it stops before writing). A missing file whose edit adds
// nothing stays missing.
func (e fileEdit) apply(ctx context.Context, x *Exec, check bool) Result {
	if err := checkDest(e.path); err != nil {
		return Fail("", "%s: %v", e.kind, strings.Replace(err.Error(), "dest", "path", 1))
	}
	if err := e.attrs.check(); err != nil {
		return Fail("", "%s: %v", e.kind, err)
	}
	cmd := readScript(e.path)
	f, err := readHostFile(ctx, x, e.path)
	if err != nil {
		return Broken(cmd, fmt.Errorf("%s: %w", e.kind, err))
	}
	data := map[string]any{"path": e.path}
	if f.Path != e.path {
		data["target"] = f.Path
	}
	switch {
	case f.Kind == "dir" || f.Kind == "other":
		return Result{Status: Failed, Command: cmd, Data: data,
			Err: fmt.Errorf("%s: %s is a %s on the host, not a file", e.kind, f.Path, map[string]string{"dir": "directory", "other": "special file"}[f.Kind])}
	case f.Kind == "absent" && f.ParentMissing && e.create:
		return Result{Status: Failed, Command: cmd, Data: data,
			Err: fmt.Errorf("%s: directory %s does not exist on the host", e.kind, path.Dir(f.Path))}
	}
	exists := f.Kind == "file"
	content, err := e.edit(f.Content, exists)
	if err != nil {
		return Result{Status: Failed, Command: cmd, Data: data, Err: fmt.Errorf("%s: %w", e.kind, err)}
	}
	if !exists {
		if len(content) == 0 {
			data["exists"] = false
			return Result{Status: OK, Command: cmd, Data: data}
		}
		if !e.create {
			return Result{Status: Failed, Command: cmd, Data: data,
				Err: fmt.Errorf("%s: %s does not exist (create: true makes it)", e.kind, f.Path)}
		}
	}
	sum := sha256Hex(content)
	diffs := f.differences(sum, e.attrs)
	data["sha256_before"], data["sha256"], data["changes"] = f.SHA256, sum, diffs
	if len(diffs) == 0 || check {
		r := Result{Status: OK, Command: cmd, Data: data}
		if len(diffs) > 0 {
			r.Status = Changed
			if x.Diff {
				r.Diff = fileDiff(x, f.Path, f.Content, content, exists, true)
			}
		} else {
			data["sha256_after"] = sum
		}
		withholdSums(x, data)
		return r
	}
	r := putFileWith(ctx, x, e.kind, content, f.Path, e.attrs, writeOpts{read: &f})
	if r.Data == nil {
		r.Data = map[string]any{}
	}
	for k, v := range data {
		if _, ok := r.Data[k]; !ok || k == "changes" {
			r.Data[k] = v
		}
	}
	delete(r.Data, "dest")
	withholdSums(x, r.Data)
	r.Command = cmd + "\n" + r.Command
	return r
}

// withholdSums removes the content's checksums from data when the step
// carries a secret (a short secret could be found again from its hash).
func withholdSums(x *Exec, data map[string]any) {
	if x.Sensitive {
		for _, k := range []string{"sha256", "sha256_before", "sha256_after"} {
			delete(data, k)
		}
	}
}
