package shell

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

func init() {
	register(map[string]Program{
		"head": runHead,
		"tail": runTail,
		"wc":   runWc,
		"tee":  runTee,
		"uniq": runUniq,
		"seq":  runSeq,
		"yes":  runYes,
	})
}

// numericShorthand turns the historical "-5" into "-n 5".
func numericShorthand(args []string) []string {
	out := make([]string, 0, len(args)+1)
	for i, a := range args {
		valuePos := i > 0 && (args[i-1] == "-n" || args[i-1] == "-c" || args[i-1] == "--lines" || args[i-1] == "--bytes")
		if !valuePos && len(a) > 1 && a[0] == '-' && a[1] >= '0' && a[1] <= '9' {
			out = append(out, "-n", a[1:])
			continue
		}
		out = append(out, a)
	}
	return out
}

// runHead is head [-n N|-c N] [FILE...]; a negative N prints all but the last N.
func runHead(c *Call) int {
	const usage = "head [-n lines | -c bytes] [file ...]"
	opts, files, ok := c.parse(numericShorthand(c.Args[1:]), optSpec{short: "n:c:qv", long: map[string]string{"lines": "n", "bytes": "c", "quiet": "q", "silent": "q", "verbose": "v"}, usage: usage})
	if !ok {
		return 1
	}
	byBytes := opts.has("c")
	spec := opts.get("n", "10")
	if byBytes {
		spec = opts.get("c", "")
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(spec, "+"), 10, 64)
	if err != nil {
		return c.fail("invalid number of lines: '%s'", spec)
	}
	headers := (len(files) > 1 && !opts.has("q")) || opts.has("v")
	first := true
	return c.eachInput(files, func(name string, r io.Reader) error {
		if headers {
			if !first {
				fmt.Fprintln(c.Stdout)
			}
			fmt.Fprintf(c.Stdout, "==> %s <==\n", name)
		}
		first = false
		if byBytes {
			if n >= 0 {
				_, err := io.Copy(c.Stdout, io.LimitReader(r, n))
				return classifyCopyErr(err)
			}
			data, err := readAll(r)
			if err != nil {
				return err
			}
			_, err = c.Stdout.Write(data[:max(0, int64(len(data))+n)])
			return classifyCopyErr(err)
		}
		br := bufio.NewReader(r)
		if n >= 0 {
			for i := int64(0); i < n; i++ {
				line, err := readLine(br)
				if line != "" {
					if _, werr := io.WriteString(c.Stdout, line); werr != nil {
						return writeErr{werr}
					}
				}
				if err != nil {
					return ignoreEOF(err)
				}
			}
			return nil
		}
		lines, err := readRawLines(br)
		if err != nil {
			return err
		}
		for _, l := range lines[:max(0, int64(len(lines))+n)] {
			if _, werr := io.WriteString(c.Stdout, l); werr != nil {
				return writeErr{werr}
			}
		}
		return nil
	})
}

func ignoreEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// readRawLines reads all lines, each keeping its newline.
func readRawLines(r io.Reader) ([]string, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	var out []string
	for {
		line, err := readLine(br)
		if line != "" {
			out = append(out, line)
		}
		if err != nil {
			return out, ignoreEOF(err)
		}
	}
}

// runTail is tail [-n N|-n +N|-c N] [-f] [FILE...].
func runTail(c *Call) int {
	const usage = "tail [-f] [-n [+]lines | -c [+]bytes] [file ...]"
	args := c.Args[1:]
	var fixed []string
	for i, a := range args {
		valuePos := i > 0 && (args[i-1] == "-n" || args[i-1] == "-c")
		if !valuePos && len(a) > 1 && a[0] == '+' && a[1] >= '0' && a[1] <= '9' {
			fixed = append(fixed, "-n", a)
			continue
		}
		fixed = append(fixed, a)
	}
	opts, files, ok := c.parse(numericShorthand(fixed), optSpec{short: "n:c:fFqvs:", long: map[string]string{"lines": "n", "bytes": "c", "follow": "f", "quiet": "q", "silent": "q", "verbose": "v", "retry": "retry", "sleep-interval": "s", "pid": "pid:"}, usage: usage})
	if !ok {
		return 1
	}
	byBytes := opts.has("c")
	spec := opts.get("n", "10")
	if byBytes {
		spec = opts.get("c", "")
	}
	fromStart := strings.HasPrefix(spec, "+")
	n, err := strconv.ParseInt(strings.TrimLeft(spec, "+-"), 10, 64)
	if err != nil {
		return c.fail("invalid number of lines: '%s'", spec)
	}
	headers := (len(files) > 1 && !opts.has("q")) || opts.has("v")
	first := true
	status := c.eachInput(files, func(name string, r io.Reader) error {
		if headers {
			if !first {
				fmt.Fprintln(c.Stdout)
			}
			fmt.Fprintf(c.Stdout, "==> %s <==\n", name)
		}
		first = false
		data, err := readAll(r)
		if err != nil {
			return err
		}
		var out []byte
		if byBytes {
			switch {
			case fromStart:
				out = data[min(int64(len(data)), max(0, n-1)):]
			default:
				out = data[max(0, int64(len(data))-n):]
			}
		} else {
			lines := splitKeep(data)
			switch {
			case fromStart:
				out = bytes.Join(lines[min(int64(len(lines)), max(0, n-1)):], nil)
			default:
				out = bytes.Join(lines[max(0, int64(len(lines))-n):], nil)
			}
		}
		if _, err := c.Stdout.Write(out); err != nil {
			return writeErr{err}
		}
		return nil
	})
	if (opts.has("f") || opts.has("F")) && len(files) > 0 && status == 0 {
		return tailFollow(c, files[len(files)-1])
	}
	return status
}

// tailFollow prints what is appended to file until the command is cancelled.
func tailFollow(c *Call, file string) int {
	info, err := c.fsys().Stat(c.abs(file))
	if err != nil {
		return c.fileErr(file, err)
	}
	offset := info.Size()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-c.Ctx.Done():
			return 0
		case <-tick.C:
		}
		f, err := c.fsys().Open(c.abs(file))
		if err != nil {
			continue
		}
		if st, err := f.Stat(); err == nil && st.Size() < offset {
			offset = 0 // truncated
		}
		if _, err := f.Seek(offset, io.SeekStart); err == nil {
			n, err := io.Copy(c.Stdout, f)
			offset += n
			if err != nil && classifyCopyErr(err) != nil && isWriteErr(classifyCopyErr(err)) {
				f.Close()
				return 1
			}
		}
		f.Close()
	}
}

// splitKeep splits data into lines keeping their newlines.
func splitKeep(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			out = append(out, data)
			break
		}
		out = append(out, data[:i+1])
		data = data[i+1:]
	}
	return out
}

// runWc is wc [-lwcm] [FILE...].
func runWc(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "lwcmL", long: map[string]string{"lines": "l", "words": "w", "bytes": "c", "chars": "m"}, usage: "wc [-lwcm] [file ...]"})
	if !ok {
		return 1
	}
	show := [4]bool{opts.has("l"), opts.has("w"), opts.has("m"), opts.has("c")}
	if show == [4]bool{} {
		show = [4]bool{true, true, false, true}
	}
	var total [4]int64
	type row struct {
		counts [4]int64
		name   string
	}
	var rows []row
	status := c.eachInput(files, func(name string, r io.Reader) error {
		var cnt [4]int64
		br := bufio.NewReaderSize(r, 64<<10)
		inWord := false
		for {
			b, err := br.ReadByte()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					return err
				}
				break
			}
			cnt[3]++
			if b < utf8.RuneSelf || utf8.RuneStart(b) {
				cnt[2]++
			}
			if b == '\n' {
				cnt[0]++
			}
			space := b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\v' || b == '\f'
			if !space && !inWord {
				cnt[1]++
			}
			inWord = !space
		}
		if len(files) == 0 {
			name = ""
		}
		rows = append(rows, row{cnt, name})
		for i := range total {
			total[i] += cnt[i]
		}
		return nil
	})
	if len(rows) > 1 {
		rows = append(rows, row{total, "total"})
	}
	single := 0
	for _, s := range show {
		if s {
			single++
		}
	}
	width := 1
	if single > 1 || len(rows) > 1 {
		width = max(len(strconv.FormatInt(max(total[0], total[1], total[2], total[3]), 10)), 1)
		if len(files) == 0 {
			width = 7
		}
	}
	for _, r := range rows {
		var parts []string
		for i, s := range show {
			if s {
				parts = append(parts, fmt.Sprintf("%*d", width, r.counts[i]))
			}
		}
		line := strings.Join(parts, " ")
		if r.name != "" {
			line += " " + r.name
		}
		fmt.Fprintln(c.Stdout, line)
	}
	return status
}

// runTee is tee [-a] [FILE...].
func runTee(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "aip", long: map[string]string{"append": "a", "ignore-interrupts": "i"}, usage: "tee [-a] [file ...]"})
	if !ok {
		return 1
	}
	status := 0
	writers := []io.Writer{c.Stdout}
	for _, f := range files {
		w, err := c.create(f, opts.has("a"))
		if err != nil {
			status = c.fileErr(f, err)
			continue
		}
		defer w.Close()
		writers = append(writers, w)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Stdin.Read(buf)
		if n > 0 {
			for i, w := range writers {
				if w == nil {
					continue
				}
				if _, werr := w.Write(buf[:n]); werr != nil {
					if i > 0 {
						status = c.fileErr(files[i-1], werr)
					}
					writers[i] = nil
				}
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				status = c.fail("read error: %v", err)
			}
			return status
		}
	}
}

// runUniq is uniq [-c] [-d] [-u] [-i] [INPUT [OUTPUT]].
func runUniq(c *Call) int {
	opts, files, ok := c.parse(c.Args[1:], optSpec{short: "cdui", long: map[string]string{"count": "c", "repeated": "d", "unique": "u", "ignore-case": "i"}, usage: "uniq [-cdui] [input [output]]"})
	if !ok {
		return 1
	}
	out := c.Stdout
	if len(files) == 2 {
		w, err := c.create(files[1], false)
		if err != nil {
			return c.fileErr(files[1], err)
		}
		defer w.Close()
		out = w
		files = files[:1]
	}
	same := func(a, b string) bool {
		if opts.has("i") {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	return c.eachInput(files, func(_ string, r io.Reader) error {
		lines, err := readAllLines(r)
		if err != nil {
			return err
		}
		for i := 0; i < len(lines); {
			j := i + 1
			for j < len(lines) && same(lines[i], lines[j]) {
				j++
			}
			n := j - i
			if (!opts.has("d") || n > 1) && (!opts.has("u") || n == 1) {
				var err error
				if opts.has("c") {
					_, err = fmt.Fprintf(out, "%7d %s\n", n, lines[i])
				} else {
					_, err = fmt.Fprintln(out, lines[i])
				}
				if err != nil {
					return writeErr{err}
				}
			}
			i = j
		}
		return nil
	})
}

// runSeq is seq [-s SEP] [-w] [FIRST [INCREMENT]] LAST.
func runSeq(c *Call) int {
	const usage = "seq [-w] [-s separator] [first [increment]] last"
	// Negative numbers are operands, not options.
	var optArgs, nums []string
	args := c.Args[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if _, err := strconv.ParseFloat(a, 64); err == nil {
			nums = append(nums, a)
			continue
		}
		optArgs = append(optArgs, a)
		if (a == "-s" || a == "-f") && i+1 < len(args) {
			i++
			optArgs = append(optArgs, args[i])
		}
	}
	opts, rest, ok := c.parse(optArgs, optSpec{short: "s:wf:", long: map[string]string{"separator": "s", "equal-width": "w", "format": "f"}, usage: usage})
	if !ok {
		return 1
	}
	if len(rest) > 0 {
		return c.usageErr(usage, "invalid floating point argument: '%s'", rest[0])
	}
	if len(nums) < 1 || len(nums) > 3 {
		return c.usageErr(usage, "missing operand")
	}
	vals := make([]float64, len(nums))
	isInt := true
	for i, n := range nums {
		vals[i], _ = strconv.ParseFloat(n, 64)
		if strings.ContainsAny(n, ".eE") {
			isInt = false
		}
	}
	first, inc, last := 1.0, 1.0, vals[len(vals)-1]
	if len(vals) >= 2 {
		first = vals[0]
	}
	if len(vals) == 3 {
		inc = vals[1]
	}
	if inc == 0 {
		return c.fail("invalid Zero increment value: '%s'", nums[1])
	}
	sep := opts.get("s", "\n")
	w := bufio.NewWriter(c.Stdout)
	defer w.Flush()
	width := 0
	if opts.has("w") && isInt {
		width = max(len(strconv.FormatFloat(first, 'f', -1, 64)), len(strconv.FormatFloat(last, 'f', -1, 64)))
	}
	count := 0
	for v := first; inc > 0 && v <= last || inc < 0 && v >= last; v = first + float64(count)*inc {
		if count%1024 == 0 && c.Ctx.Err() != nil {
			return 130
		}
		if count > 0 {
			w.WriteString(sep)
		}
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if f := opts.get("f", ""); f != "" {
			s = fmt.Sprintf(f, v)
		} else if width > 0 {
			s = fmt.Sprintf("%0*d", width, int64(v))
		}
		if _, err := w.WriteString(s); err != nil {
			return 1
		}
		count++
	}
	if count > 0 {
		w.WriteString("\n")
	}
	return 0
}

// runYes is yes [STRING...]: repeat until the reader stops or the command
// is cancelled.
func runYes(c *Call) int {
	s := "y"
	if len(c.Args) > 1 {
		s = strings.Join(c.Args[1:], " ")
	}
	line := []byte(s + "\n")
	buf := bytes.Repeat(line, max(1, 8192/len(line)))
	for c.Ctx.Err() == nil {
		if _, err := c.Stdout.Write(buf); err != nil {
			return 0
		}
	}
	return 130
}
