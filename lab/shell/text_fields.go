package shell

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

func init() {
	register(map[string]Program{
		"cut": runCut,
		"tr":  runTr,
	})
}

// ranges is a cut list such as "1,3-5,7-".
type ranges [][2]int

func parseRanges(s string) (ranges, error) {
	var out ranges
	for _, part := range strings.Split(s, ",") {
		if part == "" {
			return nil, fmt.Errorf("invalid field list")
		}
		lo, hi, isRange := strings.Cut(part, "-")
		var a, b int
		var err error
		switch {
		case !isRange:
			a, err = strconv.Atoi(lo)
			b = a
		case lo == "" && hi == "":
			return nil, fmt.Errorf("invalid range with no endpoint: -")
		case lo == "":
			a = 1
			b, err = strconv.Atoi(hi)
		case hi == "":
			a, err = strconv.Atoi(lo)
			b = int(^uint(0) >> 1)
		default:
			a, err = strconv.Atoi(lo)
			if err == nil {
				b, err = strconv.Atoi(hi)
			}
		}
		if err != nil || a < 1 || b < a {
			return nil, fmt.Errorf("invalid field value '%s'", part)
		}
		out = append(out, [2]int{a, b})
	}
	return out, nil
}

func (r ranges) has(i int) bool {
	for _, x := range r {
		if i >= x[0] && i <= x[1] {
			return true
		}
	}
	return false
}

const cutUsage = "cut -b list | -c list | -f list [-d delim] [-s] [--output-delimiter=str] [file ...]"

// runCut is cut -f/-c/-b with -d, -s, --complement and --output-delimiter.
func runCut(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{
		short: "b:c:f:d:sn",
		long:  map[string]string{"bytes": "b", "characters": "c", "fields": "f", "delimiter": "d", "only-delimited": "s", "complement": "complement", "output-delimiter": "output-delimiter:"},
		usage: cutUsage,
	})
	if !ok {
		return 1
	}
	mode := ""
	for _, m := range []string{"b", "c", "f"} {
		if opts.has(m) {
			if mode != "" {
				c.usageErr(cutUsage, "only one type of list may be specified")
				return 1
			}
			mode = m
		}
	}
	if mode == "" {
		c.usageErr(cutUsage, "you must specify a list of bytes, characters, or fields")
		return 1
	}
	rs, err := parseRanges(opts.get(mode, ""))
	if err != nil {
		c.usageErr(cutUsage, "%v", err)
		return 1
	}
	delim := opts.get("d", "\t")
	if len([]rune(delim)) != 1 {
		c.usageErr(cutUsage, "the delimiter must be a single character")
		return 1
	}
	outDelim := delim
	if mode != "f" {
		outDelim = ""
	}
	if opts.has("output-delimiter") {
		outDelim = opts.get("output-delimiter", "")
	}
	complement := opts.has("complement")
	keep := func(i int) bool { return rs.has(i) != complement }
	return c.eachInput(files, func(_ string, r io.Reader) error {
		lines, err := readAllLines(r)
		if err != nil {
			return err
		}
		var b strings.Builder
		for _, line := range lines {
			switch mode {
			case "f":
				if !strings.Contains(line, delim) {
					if !opts.has("s") {
						b.WriteString(line + "\n")
					}
					continue
				}
				var kept []string
				for i, f := range strings.Split(line, delim) {
					if keep(i + 1) {
						kept = append(kept, f)
					}
				}
				b.WriteString(strings.Join(kept, outDelim) + "\n")
			default:
				units := []string{}
				if mode == "c" {
					for _, ch := range line {
						units = append(units, string(ch))
					}
				} else {
					for i := 0; i < len(line); i++ {
						units = append(units, line[i:i+1])
					}
				}
				var kept []string
				for i, u := range units {
					if keep(i + 1) {
						kept = append(kept, u)
					}
				}
				b.WriteString(strings.Join(kept, outDelim) + "\n")
			}
		}
		if _, err := io.WriteString(c.Stdout, b.String()); err != nil {
			return writeErr{err}
		}
		return nil
	})
}

// trSet expands a tr set: ranges a-z, classes [:upper:], escapes.
func trSet(s string) ([]rune, error) {
	var out []rune
	rs := []rune(unescapeTr(s))
	for i := 0; i < len(rs); i++ {
		if rs[i] == '[' && i+1 < len(rs) && rs[i+1] == ':' {
			end := strings.Index(string(rs[i:]), ":]")
			if end > 0 {
				class := string(rs[i+2 : i+end])
				var pred func(rune) bool
				switch class {
				case "upper":
					pred = unicode.IsUpper
				case "lower":
					pred = unicode.IsLower
				case "digit":
					pred = unicode.IsDigit
				case "alpha":
					pred = unicode.IsLetter
				case "alnum":
					pred = func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
				case "space":
					pred = unicode.IsSpace
				case "blank":
					pred = func(r rune) bool { return r == ' ' || r == '\t' }
				case "punct":
					pred = unicode.IsPunct
				case "cntrl":
					pred = unicode.IsControl
				case "print":
					pred = unicode.IsPrint
				case "xdigit":
					pred = func(r rune) bool { return strings.ContainsRune("0123456789abcdefABCDEF", r) }
				default:
					return nil, fmt.Errorf("invalid character class '%s'", class)
				}
				for r := rune(0); r < 128; r++ {
					if pred(r) {
						out = append(out, r)
					}
				}
				i += end + 1
				continue
			}
		}
		if i+2 < len(rs) && rs[i+1] == '-' {
			if rs[i+2] < rs[i] {
				return nil, fmt.Errorf("range-endpoints of '%c-%c' are in reverse collating sequence order", rs[i], rs[i+2])
			}
			for r := rs[i]; r <= rs[i+2]; r++ {
				out = append(out, r)
			}
			i += 2
			continue
		}
		out = append(out, rs[i])
	}
	return out, nil
}

func unescapeTr(s string) string {
	r := strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r", `\\`, `\`, `\0`, "\x00", `\-`, "-")
	return r.Replace(s)
}

// runTr is tr [-d] [-s] [-c] SET1 [SET2].
func runTr(c *Call) int {
	const usage = "tr [-cds] set1 [set2]"
	opts, args, ok := c.parse(c.Args[1:], optSpec{short: "cCdst", long: map[string]string{"complement": "c", "delete": "d", "squeeze-repeats": "s", "truncate-set1": "t"}, usage: usage})
	if !ok {
		return 1
	}
	if len(args) == 0 || len(args) > 2 {
		return c.usageErr(usage, "missing operand")
	}
	set1, err := trSet(args[0])
	if err != nil {
		return c.fail("%v", err)
	}
	var set2 []rune
	if len(args) == 2 {
		if set2, err = trSet(args[1]); err != nil {
			return c.fail("%v", err)
		}
	}
	del, squeeze := opts.has("d"), opts.has("s")
	if !del && !squeeze && len(set2) == 0 {
		return c.usageErr(usage, "missing operand after '%s'", args[0])
	}
	complement := opts.has("c") || opts.has("C")
	in1 := func(r rune) bool { return slices.Contains(set1, r) != complement }
	mapRune := func(r rune) rune {
		if len(set2) == 0 || del {
			return r
		}
		if complement {
			if in1(r) {
				return set2[len(set2)-1]
			}
			return r
		}
		if i := slices.Index(set1, r); i >= 0 {
			return set2[min(i, len(set2)-1)]
		}
		return r
	}
	squeezeSet := set2
	if len(set2) == 0 || del {
		squeezeSet = set2
		if !del {
			squeezeSet = set1
		}
	}
	data, err := readAll(c.Stdin)
	if err != nil {
		return c.fail("read error: %v", err)
	}
	var b strings.Builder
	last := rune(-1)
	for _, r := range string(data) {
		if del && in1(r) {
			continue
		}
		r = mapRune(r)
		if squeeze && r == last && slices.Contains(squeezeSet, r) != (complement && len(set2) == 0 && !del) {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	if _, err := io.WriteString(c.Stdout, b.String()); err != nil {
		return 1
	}
	return 0
}
