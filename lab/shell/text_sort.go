package shell

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

const sortUsage = "sort [-bcfghnrsuV] [-k pos1[,pos2]] [-t sep] [-o file] [file ...]"

// sortKey is one -k key: fields (1-based) and characters, and its flags.
type sortKey struct {
	f1, c1, f2, c2 int // f2 == 0: to the end of the line
	flags          string
}

func parseSortKey(s string) (sortKey, error) {
	var k sortKey
	start, end, hasEnd := strings.Cut(s, ",")
	parse := func(p string) (f, ch int, flags string, err error) {
		i := strings.IndexFunc(p, func(r rune) bool { return strings.ContainsRune("bdfghinrRV", r) })
		if i >= 0 {
			p, flags = p[:i], p[i:]
		}
		fs, cs, hasC := strings.Cut(p, ".")
		if f, err = strconv.Atoi(fs); err != nil || f < 1 {
			return 0, 0, "", fmt.Errorf("invalid number at field start: invalid count at start of '%s'", s)
		}
		if hasC {
			if ch, err = strconv.Atoi(cs); err != nil || ch < 0 {
				return 0, 0, "", fmt.Errorf("invalid number after '.': invalid count at start of '%s'", cs)
			}
		}
		return f, ch, flags, nil
	}
	var fl1, fl2 string
	var err error
	if k.f1, k.c1, fl1, err = parse(start); err != nil {
		return k, err
	}
	if hasEnd {
		if k.f2, k.c2, fl2, err = parse(end); err != nil {
			return k, err
		}
	}
	k.flags = fl1 + fl2
	return k, nil
}

type sorter struct {
	keys   []sortKey
	global string
	sep    string
}

// fields splits a line as sort does: on sep, or on runs of blanks.
func (s *sorter) fields(line string) []string {
	if s.sep != "" {
		return strings.Split(line, s.sep)
	}
	return strings.Fields(line)
}

func (s *sorter) keyText(line string, k sortKey) string {
	f := s.fields(line)
	if k.f1 > len(f) {
		return ""
	}
	start := f[k.f1-1]
	if k.c1 > 1 {
		start = start[min(len(start), k.c1-1):]
	}
	if k.f2 == 0 {
		rest := append([]string{start}, f[k.f1:]...)
		sep := s.sep
		if sep == "" {
			sep = " "
		}
		return strings.Join(rest, sep)
	}
	end := min(k.f2, len(f))
	if end < k.f1 {
		return ""
	}
	parts := append([]string{start}, f[k.f1:end]...)
	if k.c2 > 0 && end == k.f2 {
		last := parts[len(parts)-1]
		if k.f2 == k.f1 {
			last = f[k.f1-1][:min(len(f[k.f1-1]), k.c2)]
			if k.c1 > 1 {
				last = last[min(len(last), k.c1-1):]
			}
		} else {
			last = last[:min(len(last), k.c2)]
		}
		parts[len(parts)-1] = last
	}
	sep := s.sep
	if sep == "" {
		sep = " "
	}
	return strings.Join(parts, sep)
}

func compareBy(a, b, flags string) int {
	if strings.ContainsAny(flags, "b") || strings.ContainsAny(flags, "nghV") {
		a, b = strings.TrimLeft(a, " \t"), strings.TrimLeft(b, " \t")
	}
	if strings.Contains(flags, "f") {
		a, b = strings.ToUpper(a), strings.ToUpper(b)
	}
	var r int
	switch {
	case strings.ContainsAny(flags, "ng"):
		r = cmp.Compare(leadingNumber(a), leadingNumber(b))
	case strings.Contains(flags, "h"):
		r = cmp.Compare(humanNumber(a), humanNumber(b))
	case strings.Contains(flags, "V"):
		r = versionCompare(a, b)
	default:
		r = strings.Compare(a, b)
	}
	if strings.Contains(flags, "r") {
		r = -r
	}
	return r
}

// leadingNumber reads the number a string starts with (0 when none).
func leadingNumber(s string) float64 {
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || s[end] == '.' || (end == 0 && (s[end] == '-' || s[end] == '+'))) {
		end++
	}
	for end > 0 {
		if v, err := strconv.ParseFloat(s[:end], 64); err == nil {
			return v
		}
		end--
	}
	return 0
}

func humanNumber(s string) float64 {
	v := leadingNumber(s)
	s = strings.TrimLeft(s, "+-0123456789.")
	if s == "" {
		return v
	}
	mult := map[byte]float64{'K': 1e3, 'k': 1e3, 'M': 1e6, 'G': 1e9, 'T': 1e12, 'P': 1e15}
	if m, ok := mult[s[0]]; ok {
		return v * m
	}
	return v
}

// versionCompare orders version strings as sort -V does: digit runs
// numerically, other runs by characters with letters before other symbols,
// and "~" before everything.
func versionCompare(a, b string) int {
	order := func(c byte) int {
		switch {
		case c >= '0' && c <= '9':
			return 0
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			return int(c)
		case c == '~':
			return -1
		}
		return int(c) + 256
	}
	for a != "" || b != "" {
		// non-digit prefix
		for (a != "" && !isDigit(a[0])) || (b != "" && !isDigit(b[0])) {
			var ca, cb int
			if a != "" && !isDigit(a[0]) {
				ca = order(a[0])
			}
			if b != "" && !isDigit(b[0]) {
				cb = order(b[0])
			}
			if ca != cb {
				return cmp.Compare(ca, cb)
			}
			if a != "" && !isDigit(a[0]) {
				a = a[1:]
			}
			if b != "" && !isDigit(b[0]) {
				b = b[1:]
			}
		}
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		i, j := 0, 0
		for i < len(a) && isDigit(a[i]) {
			i++
		}
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		if i != j {
			return cmp.Compare(i, j)
		}
		if r := strings.Compare(a[:i], b[:j]); r != 0 {
			return r
		}
		a, b = a[i:], b[j:]
	}
	return 0
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (s *sorter) compare(a, b string) int {
	if len(s.keys) == 0 {
		return compareBy(a, b, s.global)
	}
	for _, k := range s.keys {
		flags := k.flags
		if flags == "" {
			flags = s.global
		}
		if r := compareBy(s.keyText(a, k), s.keyText(b, k), flags); r != 0 {
			return r
		}
	}
	return 0
}

// runSort is sort with -n -g -h -V -f -b -r -u -s -c -k -t -o.
func runSort(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{
		short: "bcCdfghik:MnRo:rsSt:T:uVz",
		long: map[string]string{"numeric-sort": "n", "general-numeric-sort": "g", "human-numeric-sort": "h", "version-sort": "V", "ignore-case": "f",
			"ignore-leading-blanks": "b", "reverse": "r", "unique": "u", "stable": "s", "check": "c", "key": "k", "field-separator": "t", "output": "o"},
		usage: sortUsage,
	})
	if !ok {
		return 2
	}
	s := &sorter{sep: opts.get("t", "")}
	for _, f := range "bfghnrV" {
		if opts.has(string(f)) {
			s.global += string(f)
		}
	}
	for _, k := range opts.all("k") {
		key, err := parseSortKey(k)
		if err != nil {
			c.errf("%v", err)
			return 2
		}
		s.keys = append(s.keys, key)
	}
	var lines []string
	status := c.eachInput(files, func(_ string, r io.Reader) error {
		l, err := readAllLines(r)
		lines = append(lines, l...)
		return err
	})
	if status != 0 {
		return 2
	}
	stable := opts.has("s") || opts.has("u")
	full := func(a, b string) int {
		if r := s.compare(a, b); r != 0 || stable {
			return r
		}
		r := strings.Compare(a, b)
		if opts.has("r") {
			r = -r
		}
		return r
	}
	if opts.has("c") || opts.has("C") {
		for i := 1; i < len(lines); i++ {
			if r := full(lines[i-1], lines[i]); r > 0 || (opts.has("u") && r == 0) {
				if opts.has("c") {
					c.errf("-:%d: disorder: %s", i+1, lines[i])
				}
				return 1
			}
		}
		return 0
	}
	slices.SortStableFunc(lines, full)
	if opts.has("u") {
		lines = slices.CompactFunc(lines, func(a, b string) bool { return s.compare(a, b) == 0 })
	}
	out := c.Stdout
	if o := opts.get("o", ""); o != "" {
		w, err := c.create(o, false)
		if err != nil {
			c.fileErr(o, err)
			return 2
		}
		defer w.Close()
		out = w
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(out, b.String()); err != nil {
		return 2
	}
	return 0
}

func init() { register(map[string]Program{"sort": runSort}) }
