package sim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/runbookhq/runbook/lab/shell"
)

var journalctlFlags = newFlagSpec("u:,unit:,n:,lines:,no-pager,b:,boot:,S:,since:,U:,until:,o:,output:,q,quiet,r,reverse,x,catalog,e,pager-end,f,follow,no-hostname,a,all,t:,identifier:,p:,priority:,list-boots,k,dmesg,g:,grep:")

// journalctlProgram shows the node's journal. -f prints what is there and
// returns (the lab does not follow).
func (w *World) journalctlProgram(c *shell.Call) int {
	args := normalizeOptionalBoot(c.Args[1:])
	cl, err := journalctlFlags.parse(args)
	if err != nil {
		fmt.Fprintf(c.Stderr, "journalctl: %v\n", err)
		return 1
	}
	return w.read(c, func(p *pctx) int {
		entries, err := p.tx.readJournal(p.n.Name)
		if err != nil {
			p.eprintf("journalctl: %v\n", err)
			return 1
		}
		if cl.has("list-boots") {
			return p.listBoots(entries)
		}
		sel, code := p.selectEntries(entries, cl)
		if code != 0 {
			return code
		}
		out, _ := cl.value("o", "output")
		if out == "" {
			out = "short"
		}
		if cl.has("r", "reverse") {
			for i, j := 0, len(sel)-1; i < j; i, j = i+1, j-1 {
				sel[i], sel[j] = sel[j], sel[i]
			}
		}
		quiet := cl.has("q", "quiet")
		if len(sel) == 0 {
			if !quiet && out != "json" && out != "cat" {
				p.printf("-- No entries --\n")
			}
			return 0
		}
		lastBoot := ""
		for i, e := range sel {
			switch out {
			case "json":
				data, _ := json.Marshal(map[string]string{
					"__REALTIME_TIMESTAMP": strconv.FormatInt(e.T.UnixMicro(), 10),
					"_BOOT_ID":             compactBootID(e.Boot),
					"_HOSTNAME":            p.n.Name,
					"SYSLOG_IDENTIFIER":    e.Ident,
					"_SYSTEMD_UNIT":        e.Unit,
					"_PID":                 strconv.Itoa(e.PID),
					"PRIORITY":             strconv.Itoa(e.Prio),
					"MESSAGE":              e.Msg,
				})
				p.printf("%s\n", data)
				continue
			case "cat":
				p.printf("%s\n", e.Msg)
				continue
			}
			if i > 0 && e.Boot != lastBoot && !quiet {
				p.printf("-- Boot %s --\n", compactBootID(e.Boot))
			}
			lastBoot = e.Boot
			if out == "short-iso" {
				p.printf("%s %s %s\n", e.T.UTC().Format("2006-01-02T15:04:05-0700"), p.n.Name, identPID(e)+": "+e.Msg)
			} else {
				p.printf("%s\n", journalShort(e, p.n.Name))
			}
		}
		return 0
	})
}

// normalizeOptionalBoot turns a bare -b (current boot) into "-b 0".
func normalizeOptionalBoot(args []string) []string {
	out := make([]string, 0, len(args)+1)
	for i, a := range args {
		out = append(out, a)
		if a == "-b" || a == "--boot" {
			next := ""
			if i+1 < len(args) {
				next = args[i+1]
			}
			if _, err := strconv.Atoi(next); err != nil && !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(next) {
				out = append(out, "0")
			}
		}
	}
	return out
}

func identPID(e journalEntry) string {
	if e.Ident == "kernel" {
		return "kernel"
	}
	return fmt.Sprintf("%s[%d]", e.Ident, e.PID)
}

// journalShort formats an entry as journalctl's default output does.
func journalShort(e journalEntry, host string) string {
	return fmt.Sprintf("%s %s %s: %s", e.T.UTC().Format("Jan 02 15:04:05"), host, identPID(e), e.Msg)
}

func (p *pctx) listBoots(entries []journalEntry) int {
	var boots []string
	first, last := map[string]time.Time{}, map[string]time.Time{}
	for _, e := range entries {
		if _, ok := first[e.Boot]; !ok {
			boots = append(boots, e.Boot)
			first[e.Boot] = e.T
		}
		last[e.Boot] = e.T
	}
	for i, b := range boots {
		p.printf("%3d %s %s—%s\n", i-len(boots)+1, compactBootID(b), systemdTime(first[b]), systemdTime(last[b]))
	}
	return 0
}

// selectEntries applies the unit, boot, time, identifier, priority, grep
// and line-count filters.
func (p *pctx) selectEntries(entries []journalEntry, cl *cmdline) ([]journalEntry, int) {
	units := cl.values("u", "unit")
	for i, u := range units {
		units[i] = fullUnitName(u)
	}
	idents := cl.values("t", "identifier")
	var since, until time.Time
	if v, ok := cl.value("S", "since"); ok {
		t, err := parseJournalTime(v, p.tx.now)
		if err != nil {
			p.eprintf("Failed to parse timestamp: %s\n", v)
			return nil, 1
		}
		since = t
	}
	if v, ok := cl.value("U", "until"); ok {
		t, err := parseJournalTime(v, p.tx.now)
		if err != nil {
			p.eprintf("Failed to parse timestamp: %s\n", v)
			return nil, 1
		}
		until = t
	}
	boot := ""
	if v, ok := cl.value("b", "boot"); ok {
		var boots []string
		seen := map[string]bool{}
		for _, e := range entries {
			if !seen[e.Boot] {
				seen[e.Boot] = true
				boots = append(boots, e.Boot)
			}
		}
		if off, err := strconv.Atoi(v); err == nil {
			if off > 0 {
				off -= len(boots)
			}
			i := len(boots) - 1 + off
			if i < 0 || i >= len(boots) {
				p.eprintf("Data from the specified boot (%s) is not available: No such boot ID in journal\n", v)
				return nil, 1
			}
			boot = boots[i]
		} else {
			for _, b := range boots {
				if compactBootID(b) == v {
					boot = b
				}
			}
			if boot == "" {
				p.eprintf("Data from the specified boot (%s) is not available: No such boot ID in journal\n", v)
				return nil, 1
			}
		}
	}
	if cl.has("k", "dmesg") {
		idents = append(idents, "kernel")
		if boot == "" {
			boot = p.n.BootID
		}
	}
	maxPrio := 7
	if v, ok := cl.value("p", "priority"); ok {
		levels := map[string]int{"emerg": 0, "alert": 1, "crit": 2, "err": 3, "warning": 4, "notice": 5, "info": 6, "debug": 7}
		if l, ok := levels[v]; ok {
			maxPrio = l
		} else if n, err := strconv.Atoi(v); err == nil {
			maxPrio = n
		}
	}
	var grep *regexp.Regexp
	if v, ok := cl.value("g", "grep"); ok {
		re, err := regexp.Compile(v)
		if err != nil {
			p.eprintf("Bad pattern \"%s\": %v\n", v, err)
			return nil, 1
		}
		grep = re
	}
	var sel []journalEntry
	for _, e := range entries {
		if len(units) > 0 && !contains(units, e.Unit) {
			continue
		}
		if len(idents) > 0 && !contains(idents, e.Ident) {
			continue
		}
		if boot != "" && e.Boot != boot {
			continue
		}
		if !since.IsZero() && e.T.Before(since) || !until.IsZero() && e.T.After(until) {
			continue
		}
		if e.Prio > maxPrio || grep != nil && !grep.MatchString(e.Msg) {
			continue
		}
		sel = append(sel, e)
	}
	lines := -1
	if cl.has("e", "pager-end") {
		lines = 1000
	}
	if v, ok := cl.value("n", "lines"); ok {
		if v == "all" {
			lines = -1
		} else if n, err := strconv.Atoi(strings.TrimPrefix(v, "+")); err == nil && n >= 0 {
			lines = n
		} else {
			p.eprintf("Failed to parse lines '%s'\n", v)
			return nil, 1
		}
	} else if cl.has("f", "follow") {
		lines = 10
	}
	if lines >= 0 && len(sel) > lines {
		sel = sel[len(sel)-lines:]
	}
	return sel, 0
}

var agoRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(\d+)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hour|hours|d|day|days)\s+ago$`)
})
var relRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([-+])(\d+)\s*(s|sec|m|min|h|hour|hours|d|days?)$`) })

// parseJournalTime reads the timestamps journalctl --since/--until accept.
func parseJournalTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch s {
	case "now":
		return now, nil
	case "today":
		return day, nil
	case "yesterday":
		return day.AddDate(0, 0, -1), nil
	case "tomorrow":
		return day.AddDate(0, 0, 1), nil
	}
	if strings.HasPrefix(s, "@") {
		sec, err := strconv.ParseInt(s[1:], 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		return time.Unix(sec, 0), nil
	}
	unit := func(u string) time.Duration {
		switch u[0] {
		case 's':
			return time.Second
		case 'm':
			return time.Minute
		case 'h':
			return time.Hour
		}
		return 24 * time.Hour
	}
	if m := agoRE().FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		return now.Add(-time.Duration(n) * unit(m[2])), nil
	}
	if m := relRE().FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[2])
		d := time.Duration(n) * unit(m[3])
		if m[1] == "-" {
			d = -d
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02", "2006-01-02T15:04:05Z07:00", "15:04:05", "15:04"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			if layout == "15:04:05" || layout == "15:04" {
				t = day.Add(time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad timestamp %q", s)
}
