package sim

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/runbookhq/runbook/lab/shell"
)

var aptGetFlags = newFlagSpec("y,yes,assume-yes,q,qq,quiet,allow-downgrades,allow-change-held-packages,allow-remove-essential,allow-unauthenticated,o:,option:,no-install-recommends,install-recommends,reinstall,s,simulate,dry-run,just-print,no-act,f,fix-broken,purge,V,verbose-versions,d,download-only,m,fix-missing,only-upgrade,force-yes,no-upgrade,c:,config-file:,t:,target-release:,autoremove,auto-remove,u,show-upgraded,list-cleanup,h,help")

// aptProgram is `apt`: apt-get with a warning about its CLI.
func (w *World) aptProgram(c *shell.Call) int {
	fmt.Fprintf(c.Stderr, "\nWARNING: apt does not have a stable CLI interface. Use with caution in scripts.\n\n")
	if len(c.Args) > 1 && (c.Args[1] == "policy" || c.Args[1] == "show" || c.Args[1] == "madison") {
		return w.aptCacheProgram(c)
	}
	return w.aptGetProgram(c)
}

// aptGetProgram simulates apt-get against the lab archive.
func (w *World) aptGetProgram(c *shell.Call) int {
	cl, err := aptGetFlags.parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "E: Command line option %s is not understood in combination with the other options\n", strings.TrimPrefix(err.Error(), "unknown flag: "))
		return 100
	}
	if len(cl.args) == 0 || cl.has("h", "help") {
		fmt.Fprintf(c.Stdout, "apt 2.4.12 (amd64)\nUsage: apt-get [options] command\n       apt-get [options] install|remove pkg1 [pkg2 ...]\n")
		if len(cl.args) == 0 && !cl.has("h", "help") {
			return 1
		}
		return 0
	}
	verb, pkgs := cl.args[0], cl.args[1:]
	node := c.Machine.Name
	switch verb {
	case "update":
		l, err := w.acquireLock(c.Ctx, node, c.Machine.Root, "/var/lib/apt/lists/lock", "apt-get", lockTimeout(cl))
		if err != nil {
			return w.lockFailed(c, "/var/lib/apt/lists/lock", "lock directory", err)
		}
		defer l.release()
		return w.run(c, func(p *pctx) int { return p.aptUpdate() })
	case "install", "reinstall", "remove", "purge", "upgrade", "dist-upgrade", "full-upgrade", "autoremove", "autopurge":
	case "clean", "autoclean", "check", "source", "download", "changelog", "build-dep", "satisfy":
		if verb == "check" {
			fmt.Fprintf(c.Stdout, "Reading package lists...\nBuilding dependency tree...\nReading state information...\n")
		}
		return 0
	default:
		fmt.Fprintf(c.Stderr, "E: Invalid operation %s\n", verb)
		return 100
	}
	if (verb == "install" || verb == "reinstall" || verb == "remove" || verb == "purge") && len(pkgs) == 0 {
		fmt.Fprintf(c.Stdout, "Reading package lists...\nBuilding dependency tree...\nReading state information...\n0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded.\n")
		return 0
	}
	l, err := w.acquireLock(c.Ctx, node, c.Machine.Root, "/var/lib/dpkg/lock-frontend", "apt-get", lockTimeout(cl))
	if err != nil {
		return w.lockFailed(c, "/var/lib/dpkg/lock-frontend", "acquire the dpkg frontend lock", err)
	}
	defer l.release()
	op := aptOp{verb: verb, pkgs: pkgs, cl: cl}
	code := w.run(c, func(p *pctx) int { return p.aptChange(&op) })
	if !op.needPrompt {
		return code
	}
	// The question is answered outside the world's locks.
	answer := ""
	if c.Stdin != nil {
		line, err := bufio.NewReader(c.Stdin).ReadString('\n')
		if err == nil || (err == io.EOF && line != "") {
			answer = strings.TrimSpace(line)
		} else {
			fmt.Fprintf(c.Stdout, "Abort.\n")
			return 1
		}
	}
	fmt.Fprintf(c.Stdout, "\n")
	if answer != "" && !strings.EqualFold(answer, "y") && !strings.EqualFold(answer, "yes") {
		fmt.Fprintf(c.Stdout, "Abort.\n")
		return 1
	}
	op.confirmed, op.needPrompt = true, false
	return w.run(c, func(p *pctx) int { return p.aptChange(&op) })
}

func (w *World) lockFailed(c *shell.Call, path, what string, err error) int {
	if err == errLockBusy {
		fmt.Fprint(c.Stderr, w.lockBusyMessage(c.Machine.Name, path, what))
	} else {
		fmt.Fprintf(c.Stderr, "E: Could not open lock file %s - open (%v)\n", path, err)
	}
	return 100
}

// aptUpdate fetches the package lists of the configured repositories.
func (p *pctx) aptUpdate() int {
	sources, warnings := readSources(p.root)
	code := 0
	var errs, warns []string
	wanted := map[string]bool{}
	n := 0
	fetched := 0
	for _, s := range sources {
		n++
		kind, repo := s.classify()
		switch kind {
		case repoUbuntu:
			p.printf("Hit:%d %s %s InRelease\n", n, s.URI, s.Suite)
		case repoNoHost:
			host := s.URI
			if i := strings.Index(host, "://"); i >= 0 {
				host = host[i+3:]
			}
			host, _, _ = strings.Cut(host, "/")
			p.printf("Ign:%d %s InRelease\n", n, s.display())
			p.printf("Err:%d %s InRelease\n  Temporary failure resolving '%s'\n", n, s.display(), host)
			warns = append(warns, fmt.Sprintf("W: Failed to fetch %s/InRelease  Temporary failure resolving '%s'", s.URI, host),
				"W: Some index files failed to download. They have been ignored, or old ones used instead.")
		case repoNotFound:
			p.printf("Err:%d %s InRelease\n  404  Not Found [IP: 34.107.204.206 443]\n", n, s.display())
			errs = append(errs, fmt.Sprintf("E: The repository '%s InRelease' does not have a Release file.", s.display()),
				"N: Updating from such a repository can't be done securely, and is therefore disabled by default.",
				"N: See apt-secure(8) manpage for repository creation and user configuration details.")
			code = 100
		case repoLab:
			if s.SignedBy != "" && !rootFileExists(p.root, s.SignedBy) {
				p.printf("Get:%d %s InRelease [1,189 B]\n", n, s.display())
				p.printf("Err:%d %s InRelease\n  The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 2A7A41A3A1C58C3E\n", n, s.display())
				errs = append(errs, fmt.Sprintf("W: GPG error: %s InRelease: The following signatures couldn't be verified because the public key is not available: NO_PUBKEY 2A7A41A3A1C58C3E", s.display()),
					fmt.Sprintf("E: The repository '%s InRelease' is not signed.", s.display()),
					"N: Updating from such a repository can't be done securely, and is therefore disabled by default.",
					"N: See apt-secure(8) manpage for repository creation and user configuration details.")
				code = 100
				continue
			}
			index := packagesIndex(repo)
			wanted[s.listsFile()] = true
			if old, err := readRootFile(p.root, s.listsFile()); err == nil && string(old) == index {
				p.printf("Hit:%d %s InRelease\n", n, s.display())
				continue
			}
			p.printf("Get:%d %s InRelease [1,189 B]\n", n, s.display())
			n++
			p.printf("Get:%d %s Packages [%s]\n", n, s.display(), humanBytes(int64(len(index))))
			fetched += 1189 + len(index)
			if err := writeRootFile(p.root, s.listsFile(), []byte(index), 0o644); err != nil {
				p.eprintf("E: Could not write %s: %v\n", s.listsFile(), err)
				return 100
			}
		}
	}
	// lists of repositories no longer configured are dropped
	names, _ := listRootDir(p.root, "/var/lib/apt/lists")
	for _, name := range names {
		path := "/var/lib/apt/lists/" + name
		if strings.HasSuffix(name, "_Packages") && !wanted[path] {
			_ = removeRootPath(p.root, path)
		}
	}
	if fetched > 0 {
		p.printf("Fetched %s in 1s (%s/s)\n", humanBytes(int64(fetched)), humanBytes(int64(fetched)))
	}
	p.printf("Reading package lists...\n")
	for _, l := range warnings {
		p.eprintf("%s\n", l)
	}
	for _, l := range errs {
		p.eprintf("%s\n", l)
	}
	seen := map[string]bool{}
	for _, l := range warns {
		if !seen[l] {
			p.eprintf("%s\n", l)
			seen[l] = true
		}
	}
	return code
}

// humanBytes formats a size the way apt does.
func humanBytes(n int64) string {
	switch {
	case n < 1000:
		return fmt.Sprintf("%d B", n)
	case n < 10_000_000:
		return commafy((n+500)/1000) + " kB"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func commafy(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
