package steps

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// aptQueryAllScript prints every package dpkg knows: name, status and
// version.
const aptQueryAllScript = `dpkg-query -W -f='${Package}|${Status}|${Version}\n'`

// pkgState is what dpkg says about a package.
type pkgState struct {
	Installed bool
	Held      bool
	Version   string // "" when not installed
}

// parsePkgStates reads aptQueryAllScript's output, "name|want ok
// status|version" a line.
func parsePkgStates(out string) map[string]pkgState {
	m := map[string]pkgState{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, rest, ok := strings.Cut(strings.TrimSpace(sc.Text()), "|")
		if !ok || name == "" {
			continue
		}
		m[name] = parsePkgState(rest)
	}
	return m
}

// parsePkgState reads "want ok status|version".
func parsePkgState(line string) pkgState {
	status, version, ok := strings.Cut(line, "|")
	if !ok {
		return pkgState{}
	}
	f := strings.Fields(status)
	var s pkgState
	s.Held = len(f) > 0 && f[0] == "hold"
	s.Installed = len(f) == 3 && f[2] == "installed"
	if s.Installed {
		s.Version = strings.TrimSpace(version)
	}
	return s
}

// cacheAgeScript prints the time now and when apt-get update last
// succeeded, as Unix seconds.
const cacheAgeScript = `echo "now=$(date +%s)"
s=` + aptStamp + `
if [ -e "$s" ]; then echo "stamp=$(date -r "$s" +%s)"; fi`

// parseCacheAge reads cacheAgeScript's output; ok is false when there is
// no stamp (an update is due).
func parseCacheAge(out string) (time.Duration, bool) {
	kv := keyValues(out)
	now, err1 := strconv.ParseInt(strings.TrimSpace(kv["now"]), 10, 64)
	stamp, err2 := strconv.ParseInt(strings.TrimSpace(kv["stamp"]), 10, 64)
	if err1 != nil || err2 != nil || stamp > now {
		return 0, false
	}
	return time.Duration(now-stamp) * time.Second, true
}

// parseCandidates reads `apt-cache policy`: each package's Candidate.
func parseCandidates(out string) map[string]string {
	m := map[string]string{}
	pkg := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line != "" && line[0] != ' ' && strings.HasSuffix(line, ":"):
			pkg = strings.TrimSuffix(line, ":")
		case pkg != "" && strings.HasPrefix(strings.TrimSpace(line), "Candidate:"):
			m[pkg] = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "Candidate:"))
		}
	}
	return m
}

var (
	conffilePromptRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Configuration file '(.+)'$`) })
	conffileInstallRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(?:Installing new version of config file|Replacing config file) (\S+)`)
	})
)

// parseConffiles reads dpkg's words about conffiles in apt's output: a
// conflict between a local change and the package's new version is
// "kept" (the package's version is left beside it as .dpkg-dist) or
// "replaced" (the local one is kept as .dpkg-old); an unchanged conffile
// taking the new version is "replaced".
func parseConffiles(out string) map[string]string {
	m := map[string]string{}
	current := ""
	for _, line := range strings.Split(out, "\n") {
		t := strings.TrimSpace(line)
		if sub := conffilePromptRe().FindStringSubmatch(t); sub != nil {
			current = sub[1]
			continue
		}
		if sub := conffileInstallRe().FindStringSubmatch(t); sub != nil {
			m[strings.TrimRight(sub[1], ".")] = "replaced"
			continue
		}
		switch {
		case current == "":
		case strings.HasPrefix(t, "==> Keeping old config file as default"):
			m[current], current = "kept", ""
		case strings.HasPrefix(t, "==> Using new config file as default"):
			m[current], current = "replaced", ""
		}
	}
	return m
}

// aptError sums up a failed apt command: its E: lines, dpkg's account of
// each package that failed, and what that package's maintainer script
// said just before (on the stream dpkg wrote to: apt gives dpkg a
// terminal of its own and copies it to stdout); else its last stderr
// lines.
func aptError(rc int, stdout, stderr string) error {
	var es, dpkg, own []string
	for _, stream := range []string{stderr, stdout} {
		lines := strings.Split(stream, "\n")
		for i, l := range lines {
			t := strings.TrimSpace(l)
			switch {
			case strings.HasPrefix(t, "E: "):
				es = append(es, t)
			case strings.HasPrefix(t, "dpkg: error processing"):
				if i+1 < len(lines) && strings.HasPrefix(lines[i+1], " ") {
					t += " " + strings.TrimSpace(lines[i+1])
				}
				dpkg = append(dpkg, t)
				own = append(own, scriptMessages(lines[:i])...)
			}
		}
	}
	if len(es)+len(dpkg) > 0 {
		return fmt.Errorf("apt: exit %d: %s", rc, strings.Join(append(append(es, dpkg...), own...), "; "))
	}
	return fmt.Errorf("apt: exit %d%s", rc, stderrTail(stderr))
}

// scriptMessages returns what a maintainer script printed before dpkg's
// error: going back from it, the last lines (up to three) that are
// neither apt's nor dpkg's, as far as the line where dpkg began the
// package's step.
func scriptMessages(before []string) []string {
	var out []string
	for j := len(before) - 1; j >= 0 && len(out) < 3; j-- {
		t := strings.TrimSpace(before[j])
		if startsWithAny(t, "Setting up ", "Preparing to unpack ", "Unpacking ", "Removing ", "Processing triggers ", "dpkg: error processing") {
			break
		}
		if isPackageMessage(before[j]) {
			out = append([]string{t}, out...)
		}
	}
	return out
}

func startsWithAny(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// isPackageMessage says a line of apt's output is neither apt's nor
// dpkg's own: what a maintainer script printed.
func isPackageMessage(l string) bool {
	t := strings.TrimSpace(l)
	if t == "" || strings.HasPrefix(l, " ") {
		return false
	}
	return !startsWithAny(t, "E: ", "W: ", "N: ", "dpkg:", "debconf:", "Errors were encountered", "Extracting templates",
		"Preconfiguring packages", "WARNING: apt does not have a stable CLI", "Reading ", "Building ", "update-alternatives:",
		"(Reading database", "Selecting previously unselected", "Get:", "Need to get", "After this operation", "The following",
		"0 upgraded", "1 upgraded", "Hit:", "Ign:", "Fetched ")
}
