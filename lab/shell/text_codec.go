package shell

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

func init() {
	register(map[string]Program{
		"gzip":      runGzip,
		"gunzip":    runGzip,
		"zcat":      runGzip,
		"sha256sum": runHashsum,
		"sha512sum": runHashsum,
		"sha1sum":   runHashsum,
		"md5sum":    runHashsum,
		"cmp":       runCmp,
		"base64":    runBase64,
	})
}

const gzipUsage = "gzip [-cdfkt] [-1..-9] [file ...]"

// runGzip is gzip, gunzip and zcat.
func runGzip(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{
		short: "cdfkqtvnN123456789",
		long:  map[string]string{"stdout": "c", "to-stdout": "c", "decompress": "d", "uncompress": "d", "force": "f", "keep": "k", "quiet": "q", "test": "t", "best": "9", "fast": "1"},
		usage: gzipUsage,
	})
	if !ok {
		return 1
	}
	decompress := opts.has("d") || opts.has("t") || c.name() != "gzip"
	toStdout := opts.has("c") || c.name() == "zcat" || opts.has("t")
	level := gzip.DefaultCompression
	for i := '1'; i <= '9'; i++ {
		if opts.has(string(i)) {
			level = int(i - '0')
		}
	}
	convert := func(dst io.Writer, src io.Reader) error {
		if decompress {
			zr, err := gzip.NewReader(src)
			if err != nil {
				return fmt.Errorf("not in gzip format")
			}
			defer zr.Close()
			if opts.has("t") {
				dst = io.Discard
			}
			n, err := io.Copy(dst, io.LimitReader(zr, maxExtract+1))
			if err == nil && n > maxExtract {
				err = errors.New("the data is larger than the lab allows")
			}
			return err
		}
		zw, _ := gzip.NewWriterLevel(dst, level)
		if _, err := io.Copy(zw, src); err != nil {
			return err
		}
		return zw.Close()
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	status := 0
	for _, f := range files {
		if f == "-" || toStdout {
			in, err := c.open(f)
			if err != nil {
				status = c.fileErr(f, err)
				continue
			}
			err = convert(c.Stdout, in)
			in.Close()
			if err != nil {
				status = c.fail("%s: %v", f, err)
			}
			continue
		}
		out := f + ".gz"
		if decompress {
			var cut bool
			out, cut = strings.CutSuffix(f, ".gz")
			if !cut {
				if out, cut = strings.CutSuffix(f, ".tgz"); cut {
					out += ".tar"
				} else {
					status = c.fail("%s: unknown suffix -- ignored", f)
					continue
				}
			}
		} else if strings.HasSuffix(f, ".gz") {
			status = c.fail("%s already has .gz suffix -- unchanged", f)
			continue
		}
		if _, err := c.fsys().Lstat(c.abs(out)); err == nil && !opts.has("f") {
			status = c.fail("%s already exists; not overwritten", out)
			continue
		}
		info, err := c.fsys().Stat(c.abs(f))
		if err != nil {
			status = c.fileErr(f, err)
			continue
		}
		in, err := c.open(f)
		if err != nil {
			status = c.fileErr(f, err)
			continue
		}
		w, err := c.create(out, false)
		if err != nil {
			in.Close()
			status = c.fileErr(out, err)
			continue
		}
		err = convert(w, in)
		in.Close()
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = c.fsys().Remove(c.abs(out))
			status = c.fail("%s: %v", f, err)
			continue
		}
		_ = c.fsys().Chmod(c.abs(out), info.Mode().Perm())
		_ = c.fsys().Chtimes(c.abs(out), info.ModTime(), info.ModTime())
		if !opts.has("k") {
			_ = c.fsys().Remove(c.abs(f))
		}
	}
	return status
}

func newHash(name string) hash.Hash {
	switch name {
	case "sha512sum":
		return sha512.New()
	case "sha1sum":
		return sha1.New()
	case "md5sum":
		return md5.New()
	}
	return sha256.New()
}

// runHashsum is sha256sum, sha512sum, sha1sum and md5sum, with -c to check.
func runHashsum(c *Call) int {
	usage := c.name() + " [-bct] [--quiet] [--status] [file ...]"
	opts, files, ok := c.parse(c.Args[1:], optSpec{
		short: "bctwz",
		long:  map[string]string{"binary": "b", "check": "c", "text": "t", "quiet": "quiet", "status": "status", "warn": "w", "strict": "strict", "ignore-missing": "ignore-missing"},
		usage: usage,
	})
	if !ok {
		return 1
	}
	sum := func(r io.Reader) (string, error) {
		h := newHash(c.name())
		if _, err := io.Copy(h, r); err != nil {
			return "", err
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	if !opts.has("c") {
		return c.eachInput(files, func(name string, r io.Reader) error {
			s, err := sum(r)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.Stdout, "%s  %s\n", s, name)
			return nil
		})
	}
	failed, unreadable, malformed := 0, 0, 0
	quiet, silent := opts.has("quiet"), opts.has("status")
	status := c.eachInput(files, func(listName string, r io.Reader) error {
		lines, err := readAllLines(r)
		if err != nil {
			return err
		}
		for _, line := range lines {
			want, name, ok := strings.Cut(line, " ")
			if !ok || len(name) < 2 || (name[0] != ' ' && name[0] != '*') {
				malformed++
				continue
			}
			name = name[1:]
			if _, err := hex.DecodeString(want); err != nil || len(want) != newHash(c.name()).Size()*2 {
				malformed++
				continue
			}
			f, err := c.open(name)
			if err != nil {
				if opts.has("ignore-missing") {
					continue
				}
				unreadable++
				if !silent {
					c.errf("%s: %s", name, errText(err))
					fmt.Fprintf(c.Stdout, "%s: FAILED open or read\n", name)
				}
				continue
			}
			got, err := sum(f)
			f.Close()
			switch {
			case err != nil:
				unreadable++
				if !silent {
					fmt.Fprintf(c.Stdout, "%s: FAILED open or read\n", name)
				}
			case !strings.EqualFold(got, want):
				failed++
				if !silent {
					fmt.Fprintf(c.Stdout, "%s: FAILED\n", name)
				}
			case !quiet && !silent:
				fmt.Fprintf(c.Stdout, "%s: OK\n", name)
			}
		}
		return nil
	})
	if !silent {
		if malformed > 0 {
			c.errf("WARNING: %d line%s improperly formatted", malformed, plural(malformed, " is", "s are"))
		}
		if unreadable > 0 {
			c.errf("WARNING: %d listed file%s could not be read", unreadable, plural(unreadable, "", "s"))
		}
		if failed > 0 {
			c.errf("WARNING: %d computed checksum%s did NOT match", failed, plural(failed, "", "s"))
		}
	}
	if failed > 0 || unreadable > 0 || status != 0 || (opts.has("strict") && malformed > 0) {
		return 1
	}
	return 0
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// runCmp is cmp [-s] FILE1 [FILE2].
func runCmp(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "sl", long: map[string]string{"silent": "s", "quiet": "s", "verbose": "l"}, usage: "cmp [-s] file1 [file2]"})
	if !ok {
		return 2
	}
	if len(files) == 1 {
		files = append(files, "-")
	}
	if len(files) != 2 {
		c.usageErr("cmp [-s] file1 [file2]", "missing operand")
		return 2
	}
	var readers [2]*bufio.Reader
	for i, f := range files {
		r, err := c.open(f)
		if err != nil {
			if !opts.has("s") {
				c.fileErr(f, err)
			}
			return 2
		}
		defer r.Close()
		readers[i] = bufio.NewReader(r)
	}
	var pos, line int64 = 1, 1
	for {
		a, errA := readers[0].ReadByte()
		b, errB := readers[1].ReadByte()
		switch {
		case errA != nil && errB != nil:
			return 0
		case errA != nil || errB != nil:
			short := files[0]
			if errB != nil {
				short = files[1]
			}
			if !opts.has("s") {
				if pos == 1 {
					c.errf("EOF on %s which is empty", short)
				} else {
					c.errf("EOF on %s after byte %d, line %d", short, pos-1, line)
				}
			}
			return 1
		case a != b:
			if !opts.has("s") {
				fmt.Fprintf(c.Stdout, "%s %s differ: byte %d, line %d\n", files[0], files[1], pos, line)
			}
			return 1
		}
		if a == '\n' {
			line++
		}
		pos++
	}
}

// runBase64 is base64 [-d] [-i] [-w COLS] [FILE].
func runBase64(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "diw:", long: map[string]string{"decode": "d", "ignore-garbage": "i", "wrap": "w"}, usage: "base64 [-di] [-w cols] [file]"})
	if !ok {
		return 1
	}
	if len(files) > 1 {
		return c.usageErr("base64 [-di] [-w cols] [file]", "extra operand '%s'", files[1])
	}
	wrap, err := strconv.Atoi(opts.get("w", "76"))
	if err != nil || wrap < 0 {
		return c.fail("invalid wrap size: '%s'", opts.get("w", ""))
	}
	return c.eachInput(files, func(_ string, r io.Reader) error {
		data, err := readAll(r)
		if err != nil {
			return err
		}
		if opts.has("d") {
			clean := bytes.Map(func(r rune) rune {
				if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
					return -1
				}
				if opts.has("i") && !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", r) {
					return -1
				}
				return r
			}, data)
			out, err := base64.StdEncoding.DecodeString(string(clean))
			if err != nil {
				if _, werr := c.Stdout.Write(out); werr != nil {
					return writeErr{werr}
				}
				return errors.New("invalid input")
			}
			if _, err := c.Stdout.Write(out); err != nil {
				return writeErr{err}
			}
			return nil
		}
		enc := base64.StdEncoding.EncodeToString(data)
		var b strings.Builder
		for wrap > 0 && len(enc) > wrap {
			b.WriteString(enc[:wrap] + "\n")
			enc = enc[wrap:]
		}
		b.WriteString(enc)
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		if _, err := io.WriteString(c.Stdout, b.String()); err != nil {
			return writeErr{err}
		}
		return nil
	})
}
