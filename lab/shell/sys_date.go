package shell

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/itchyny/timefmt-go"
)

func init() {
	register(map[string]Program{
		"date":  runDate,
		"sleep": runSleep,
	})
}

const dateUsage = "date [-u] [-d date] [-r file] [-R|-I[fmt]] [+format]"

// runDate is date [-u] [-d DATE] [-r FILE] [-R] [-I[TIMESPEC]] [+FORMAT].
func runDate(c *Call) int {
	args := c.Args[1:]
	var format string
	var rest []string
	for _, a := range args {
		if strings.HasPrefix(a, "+") {
			format = a[1:]
			continue
		}
		rest = append(rest, a)
	}
	// -I takes an optional value glued to it; split it out first.
	iso := ""
	var plain []string
	for _, a := range rest {
		switch {
		case a == "-I" || a == "--iso-8601":
			iso = "date"
		case strings.HasPrefix(a, "-I") && !strings.HasPrefix(a, "-Iu"):
			iso = a[2:]
		case strings.HasPrefix(a, "--iso-8601="):
			iso = strings.TrimPrefix(a, "--iso-8601=")
		default:
			plain = append(plain, a)
		}
	}
	opts, operands, ok := c.parse(plain, optSpec{short: "ud:r:Rs:", long: map[string]string{"utc": "u", "universal": "u", "date": "d", "reference": "r", "rfc-email": "R", "set": "s"}, usage: dateUsage})
	if !ok {
		return 1
	}
	if len(operands) > 0 {
		return c.usageErr(dateUsage, "invalid date '%s'", operands[0])
	}
	if opts.has("s") {
		return c.fail("cannot set date: Operation not permitted")
	}
	now := time.Now()
	if d := opts.get("d", ""); opts.has("d") {
		t, err := parseDate(d, now)
		if err != nil {
			return c.fail("invalid date '%s'", d)
		}
		now = t
	}
	if r := opts.get("r", ""); r != "" {
		info, err := c.fsys().Stat(c.abs(r))
		if err != nil {
			return c.fileErr(r, err)
		}
		now = info.ModTime()
	}
	if opts.has("u") || c.env("TZ") == "UTC" || c.env("TZ") == "UTC0" {
		now = now.UTC()
	}
	switch {
	case opts.has("R"):
		format = "%a, %d %b %Y %H:%M:%S %z"
	case iso == "date":
		format = "%Y-%m-%d"
	case iso == "hours":
		format = "%Y-%m-%dT%H%:z"
	case iso == "minutes":
		format = "%Y-%m-%dT%H:%M%:z"
	case iso == "seconds":
		format = "%Y-%m-%dT%H:%M:%S%:z"
	case iso == "ns":
		format = "%Y-%m-%dT%H:%M:%S,%N%:z"
	case iso != "":
		return c.fail("invalid argument '%s' for '--iso-8601'", iso)
	case format == "":
		format = "%a %b %e %H:%M:%S %Z %Y"
	}
	fmt.Fprintln(c.Stdout, strftime(format, now))
	return 0
}

// parseDate reads the dates date -d and touch -d accept: @EPOCH, "now",
// "today", "yesterday", "tomorrow", RFC 3339 and common layouts, and
// "N UNIT ago" / "+N UNIT" offsets.
func parseDate(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if sec, ok := strings.CutPrefix(s, "@"); ok {
		f, err := strconv.ParseFloat(sec, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(0, int64(f*1e9)), nil
	}
	switch strings.ToLower(s) {
	case "", "now", "today":
		return now, nil
	case "yesterday":
		return now.AddDate(0, 0, -1), nil
	case "tomorrow":
		return now.AddDate(0, 0, 1), nil
	}
	layouts := []string{time.RFC3339Nano, time.RFC3339, "2006-01-02 15:04:05Z07:00", "2006-01-02 15:04:05 MST",
		"2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02", time.RFC1123Z, time.RFC1123,
		time.UnixDate, time.ANSIC, "Jan 2 2006", "2 Jan 2006"}
	for _, l := range layouts {
		if t, err := time.ParseInLocation(l, s, now.Location()); err == nil {
			return t, nil
		}
	}
	// Relative offsets: "5 minutes ago", "+1 day", "-2 hours", "1 hour".
	f := strings.Fields(strings.ToLower(s))
	if len(f) >= 2 && len(f) <= 3 {
		n, err := strconv.Atoi(strings.TrimPrefix(f[0], "+"))
		if err == nil {
			if len(f) == 3 {
				if f[2] != "ago" {
					return time.Time{}, fmt.Errorf("invalid date %q", s)
				}
				n = -n
			}
			unit := strings.TrimSuffix(f[1], "s")
			switch unit {
			case "sec", "second":
				return now.Add(time.Duration(n) * time.Second), nil
			case "min", "minute":
				return now.Add(time.Duration(n) * time.Minute), nil
			case "hour":
				return now.Add(time.Duration(n) * time.Hour), nil
			case "day":
				return now.AddDate(0, 0, n), nil
			case "week":
				return now.AddDate(0, 0, 7*n), nil
			case "month":
				return now.AddDate(0, n, 0), nil
			case "year":
				return now.AddDate(n, 0, 0), nil
			}
		}
	}
	return time.Time{}, fmt.Errorf("invalid date %q", s)
}

// strftime formats t with the conversions of date(1): timefmt-go's, and
// GNU date's %N (nanoseconds; %3N their first three digits, %-N unpadded),
// which it lacks.
func strftime(format string, t time.Time) string {
	return timefmt.Format(t, nanoseconds().ReplaceAllStringFunc(format, func(conv string) string {
		if strings.HasPrefix(conv, "%%") {
			return conv
		}
		digits := fmt.Sprintf("%09d", t.Nanosecond())
		spec := strings.TrimSuffix(conv[1:], "N")
		if w, err := strconv.Atoi(strings.TrimLeft(spec, "-_0")); err == nil && w > 0 && w < len(digits) {
			digits = digits[:w]
		} else if strings.HasPrefix(spec, "-") {
			digits = strconv.Itoa(t.Nanosecond())
		}
		return digits
	}))
}

// nanoseconds matches %N with its flags and width, or an escaped %.
var nanoseconds = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`%%|%[-_0]?[0-9]*N`) })

// runSleep is sleep DURATION...; it ends early when the command is cancelled.
func runSleep(c *Call) int {
	if len(c.Args) < 2 {
		return c.usageErr("sleep number[smhd] ...", "missing operand")
	}
	var total time.Duration
	for _, a := range c.Args[1:] {
		d, err := parseDuration(a)
		if err != nil {
			return c.usageErr("sleep number[smhd] ...", "invalid time interval '%s'", a)
		}
		total += d
		if total < 0 {
			total = 1<<63 - 1
		}
	}
	t := time.NewTimer(total)
	defer t.Stop()
	select {
	case <-t.C:
		return 0
	case <-c.Ctx.Done():
		return 130
	}
}
