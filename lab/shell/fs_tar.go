package shell

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
)

func init() { register(map[string]Program{"tar": runTar}) }

// maxExtract bounds what one tar or gunzip writes into a node, so that an
// archive bomb cannot fill the controller's disk.
const maxExtract = 1 << 30

const tarUsage = "tar {c|x|t}[zvpPhkO] [-f archive] [-C dir] [-T list] [--null] [--exclude=pattern] [--strip-components=n] [file ...]"

type tarOpts struct {
	mode        byte // c, x or t
	gzip        bool
	file        string
	dir         string
	verbose     bool
	absolute    bool
	deref       bool
	keep        bool
	toStdout    bool
	excludes    []string
	strip       int
	operands    []string
	warnedSlash bool
	// filesFrom are the -T lists, read once every option is known
	// (--null may come after them); null says their names end with NUL.
	filesFrom []string
	null      bool
}

// parseTar reads tar's three option styles: "czf out.tgz", "-czf out.tgz"
// and long options.
func parseTar(c *Call) (*tarOpts, bool) {
	t := &tarOpts{file: "-"}
	args := c.Args[1:]
	bad := func(format string, a ...any) (*tarOpts, bool) {
		c.usageErr(tarUsage, format, a...)
		return nil, false
	}
	setMode := func(m byte) bool {
		if t.mode != 0 && t.mode != m {
			return false
		}
		t.mode = m
		return true
	}
	// letter applies one short option; value fetches its argument.
	letter := func(ch byte, value func() (string, bool)) (bool, string) {
		switch ch {
		case 'c', 'x', 't':
			if !setMode(ch) {
				return false, "You may not specify more than one '-Acdtrux' option"
			}
		case 'z':
			t.gzip = true
		case 'v':
			t.verbose = true
		case 'P':
			t.absolute = true
		case 'h':
			t.deref = true
		case 'k':
			t.keep = true
		case 'O':
			t.toStdout = true
		case 'p', 'o', 'm', 'S', 'U':
		case 'f', 'C', 'T':
			v, ok := value()
			if !ok {
				return false, fmt.Sprintf("option requires an argument -- '%c'", ch)
			}
			switch ch {
			case 'f':
				t.file = v
			case 'C':
				t.dir = v
			default:
				t.filesFrom = append(t.filesFrom, v)
			}
		default:
			return false, fmt.Sprintf("invalid option -- '%c'", ch)
		}
		return true, ""
	}
	i := 0
	next := func() (string, bool) {
		if i >= len(args) {
			return "", false
		}
		i++
		return args[i-1], true
	}
	if len(args) > 0 && args[0] != "" && !strings.HasPrefix(args[0], "-") {
		bundle := args[0]
		i = 1
		for j := 0; j < len(bundle); j++ {
			if ok, msg := letter(bundle[j], next); !ok {
				return bad("%s", msg)
			}
		}
	}
	for i < len(args) {
		a := args[i]
		i++
		switch {
		case a == "--":
			t.operands = append(t.operands, args[i:]...)
			i = len(args)
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			need := func() (string, bool) {
				if hasVal {
					return val, true
				}
				return next()
			}
			switch name {
			case "create":
				setMode('c')
			case "extract", "get":
				setMode('x')
			case "list":
				setMode('t')
			case "gzip", "gunzip", "ungzip":
				t.gzip = true
			case "verbose":
				t.verbose = true
			case "absolute-names":
				t.absolute = true
			case "dereference":
				t.deref = true
			case "keep-old-files", "skip-old-files":
				t.keep = true
			case "to-stdout":
				t.toStdout = true
			case "null":
				t.null = true
			case "no-null":
				t.null = false
			case "verbatim-files-from", "no-verbatim-files-from", "unquote", "no-unquote":
			case "file", "directory", "exclude", "strip-components", "files-from":
				v, ok := need()
				if !ok {
					return bad("option '--%s' requires an argument", name)
				}
				switch name {
				case "file":
					t.file = v
				case "directory":
					t.dir = v
				case "exclude":
					t.excludes = append(t.excludes, v)
				case "files-from":
					t.filesFrom = append(t.filesFrom, v)
				case "strip-components":
					n, err := strconv.Atoi(v)
					if err != nil || n < 0 {
						return bad("invalid number of elements: '%s'", v)
					}
					t.strip = n
				}
			case "preserve-permissions", "same-permissions", "same-owner", "no-same-owner", "numeric-owner",
				"overwrite", "no-overwrite-dir", "warning", "owner", "group", "mode", "mtime", "sort", "xattrs", "acls", "selinux", "no-xattrs", "no-acls", "no-selinux":
			default:
				return bad("unrecognized option '%s'", a)
			}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			for j := 1; j < len(a); j++ {
				rest := a[j+1:]
				value := func() (string, bool) {
					if rest != "" {
						j = len(a)
						return rest, true
					}
					return next()
				}
				if ok, msg := letter(a[j], value); !ok {
					return bad("%s", msg)
				}
			}
		default:
			t.operands = append(t.operands, a)
		}
	}
	if t.mode == 0 {
		return bad("You must specify one of the '-Acdtrux', '--delete' or '--test-label' options")
	}
	for _, list := range t.filesFrom {
		names, err := readNameList(c, list, t.null)
		if err != nil {
			c.errf("%s: Cannot open: %s", list, errText(err))
			c.errf("Error is not recoverable: exiting now")
			return nil, false
		}
		t.operands = append(t.operands, names...)
	}
	return t, true
}

// readNameList reads the member names of a -T list: one a line (or
// NUL-terminated with --null), empty lines skipped.
func readNameList(c *Call, list string, null bool) ([]string, error) {
	r, err := c.open(list)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := readAll(r)
	if err != nil {
		return nil, err
	}
	sep := "\n"
	if null {
		sep = "\x00"
	}
	var names []string
	for _, n := range strings.Split(string(data), sep) {
		if n = strings.TrimSuffix(n, "\r"); n != "" {
			names = append(names, n)
		}
	}
	return names, nil
}

// runTar is tar: create (c), extract (x) and list (t) archives, gzip
// compressed with z (detected automatically when reading). Extraction is
// confined to the node: members with ".." are refused, leading "/" is
// removed unless -P, existing files are replaced rather than written
// through, and device files are not created.
func runTar(c *Call) int {
	t, ok := parseTar(c)
	if !ok {
		return 2
	}
	switch t.mode {
	case 'c':
		return tarCreate(c, t)
	default:
		return tarRead(c, t)
	}
}

func tarCreate(c *Call, t *tarOpts) int {
	if len(t.operands) == 0 && len(t.filesFrom) == 0 {
		c.errf("Cowardly refusing to create an empty archive")
		return 2
	}
	var out io.WriteCloser
	archivePath := ""
	if t.file == "-" {
		out = nopWriteCloser{c.Stdout}
	} else {
		archivePath = c.abs(t.file)
		f, err := c.create(t.file, false)
		if err != nil {
			c.errf("%s: Cannot open: %s", t.file, errText(err))
			return 2
		}
		out = f
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	var zw *gzip.Writer
	var w io.Writer = bw
	if t.gzip {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	tw := tar.NewWriter(w)
	base := c.Dir
	if t.dir != "" {
		base = c.abs(t.dir)
	}
	status := 0
	for _, op := range t.operands {
		name := op
		if !t.absolute && strings.HasPrefix(name, "/") {
			name = strings.TrimLeft(name, "/")
			if !t.warnedSlash {
				c.errf("Removing leading `/' from member names")
				t.warnedSlash = true
			}
			if name == "" {
				name = "."
			}
		}
		if st := tarAdd(c, t, tw, Clean(base, op), name, archivePath, true); st > status {
			status = st
		}
	}
	err := tw.Close()
	if zw != nil && err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		c.errf("%s: Cannot write: %s", t.file, errText(err))
		return 2
	}
	return status
}

func (t *tarOpts) excluded(name string) bool {
	for _, pat := range t.excludes {
		pat = strings.TrimSuffix(pat, "/")
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
		if ok, _ := path.Match(pat, path.Base(name)); ok {
			return true
		}
	}
	return false
}

// tarAdd adds the node file p under name, recursing into directories.
func tarAdd(c *Call, t *tarOpts, tw *tar.Writer, p, name, archivePath string, top bool) int {
	if c.Ctx.Err() != nil {
		return 2
	}
	if t.excluded(name) || p == archivePath {
		return 0
	}
	fsys := c.fsys()
	var info fs.FileInfo
	var err error
	if t.deref {
		info, err = fsys.Stat(p)
	} else {
		info, err = fsys.Lstat(p)
	}
	if err != nil {
		c.errf("%s: Cannot stat: %s", name, errText(err))
		return 2
	}
	link := ""
	if info.Mode()&fs.ModeSymlink != 0 {
		if link, err = fsys.Readlink(p); err != nil {
			c.errf("%s: Cannot readlink: %s", name, errText(err))
			return 2
		}
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		c.errf("%s: %v", name, err)
		return 2
	}
	hdr.Name = name
	if info.IsDir() && !strings.HasSuffix(hdr.Name, "/") {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "root", "root"
	if !info.IsDir() && !info.Mode().IsRegular() && link == "" {
		c.errf("%s: socket or device ignored", name)
		return 0
	}
	if err := tw.WriteHeader(hdr); err != nil {
		c.errf("%s: Cannot write: %v", name, err)
		return 2
	}
	if t.verbose {
		fmt.Fprintln(c.Stderr, hdr.Name)
	}
	status := 0
	switch {
	case info.Mode().IsRegular():
		f, err := fsys.Open(p)
		if err != nil {
			c.errf("%s: Cannot open: %s", name, errText(err))
			return 2
		}
		_, err = io.CopyN(tw, f, info.Size())
		f.Close()
		if err != nil {
			c.errf("%s: Read error: %v", name, err)
			return 2
		}
	case info.IsDir():
		entries, err := fsys.ReadDir(p)
		if err != nil {
			c.errf("%s: Cannot open: %s", name, errText(err))
			return 2
		}
		for _, e := range entries {
			child := path.Join(name, e.Name())
			if name == "." {
				child = "./" + e.Name()
			}
			if st := tarAdd(c, t, tw, path.Join(p, e.Name()), child, archivePath, false); st > status {
				status = st
			}
		}
	}
	return status
}

// message is an error whose text is shown to the user as written (GNU
// tools capitalise theirs).
type message string

func (m message) Error() string { return string(m) }

func messagef(format string, a ...any) error { return message(fmt.Sprintf(format, a...)) }
