package sim

import (
	"fmt"
	"io"
	"strings"

	"github.com/runbookhq/runbook/lab/shell"
)

// releaseKey is the armored repository key pkgs.k8s.io serves (a lab
// stand-in: the lab checks that the keyring exists, not its signatures).
func releaseKey(project string) string {
	return "-----BEGIN PGP PUBLIC KEY BLOCK-----\nVersion: GnuPG v1.4.5 (GNU/Linux)\n\nlab-keyring " + project + " isv:kubernetes OBS Project <isv:kubernetes@build.opensuse.org>\n-----END PGP PUBLIC KEY BLOCK-----\n"
}

// curlProgram serves the Release.key files of the lab repositories; any
// other URL is unreachable from the lab.
func (w *World) curlProgram(c *shell.Call) int {
	cl, err := newFlagSpec("f,fail,s,silent,S,show-error,L,location,o:,output:,O,remote-name,k,insecure,sSL,fsSL,H:,header:,m:,max-time:,connect-timeout:,retry:,q,v,verbose,I,head").parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "curl: option %s: is unknown\n", strings.TrimPrefix(err.Error(), "unknown flag: "))
		return 2
	}
	if len(cl.args) == 0 {
		fmt.Fprintf(c.Stderr, "curl: no URL specified!\n")
		return 2
	}
	url := cl.args[0]
	body := ""
	for _, r := range labRepos {
		for _, base := range []string{"https://pkgs.k8s.io/addons:/cri-o:/stable:/v", "https://download.opensuse.org/repositories/isv:/cri-o:/stable:/v"} {
			if r.Project == "cri-o" && url == base+r.Minor+"/deb/Release.key" {
				body = releaseKey("cri-o")
			}
		}
		if r.Project == "kubernetes" && url == "https://pkgs.k8s.io/core:/stable:/v"+r.Minor+"/deb/Release.key" {
			body = releaseKey("kubernetes")
		}
	}
	if body == "" {
		host := url
		if i := strings.Index(host, "://"); i >= 0 {
			host = host[i+3:]
		}
		host, _, _ = strings.Cut(host, "/")
		if labHostRE().MatchString(url) {
			if cl.has("f", "fail") {
				if !cl.has("s", "silent") || cl.has("S", "show-error") {
					fmt.Fprintf(c.Stderr, "curl: (22) The requested URL returned error: 404\n")
				}
				return 22
			}
			fmt.Fprint(c.Stdout, "<html><body>404 Not Found</body></html>\n")
			return 0
		}
		if !cl.has("s", "silent") || cl.has("S", "show-error") {
			fmt.Fprintf(c.Stderr, "curl: (6) Could not resolve host: %s\n", host)
		}
		return 6
	}
	if out, ok := cl.value("o", "output"); ok && out != "-" {
		return w.run(c, func(p *pctx) int {
			if err := writeRootFile(p.root, absPath(c.Dir, out), []byte(body), 0o644); err != nil {
				p.eprintf("curl: (23) Failure writing output to destination: %v\n", err)
				return 23
			}
			return 0
		})
	}
	fmt.Fprint(c.Stdout, body)
	return 0
}

// gpgProgram supports `gpg --dearmor [-o FILE] [--yes] [--batch] [--homedir DIR] [FILE]`.
func (w *World) gpgProgram(c *shell.Call) int {
	cl, err := newFlagSpec("dearmor,enarmor,o:,output:,yes,batch,no-tty,q,quiet,homedir:,no-options,no-default-keyring,keyring:,no-permission-warning,v,verbose,no-autostart").parse(c.Args[1:])
	if err != nil {
		fmt.Fprintf(c.Stderr, "gpg: invalid option %q\n", strings.TrimPrefix(err.Error(), "unknown flag: "))
		return 2
	}
	if !cl.has("dearmor") {
		fmt.Fprintf(c.Stderr, "lab: only gpg --dearmor is simulated\n")
		return 2
	}
	var in []byte
	if len(cl.args) > 0 && cl.args[0] != "-" {
		code := w.read(c, func(p *pctx) int {
			data, err := readRootFile(p.root, absPath(c.Dir, cl.args[0]))
			if err != nil {
				p.eprintf("gpg: can't open '%s': No such file or directory\n", cl.args[0])
				return 2
			}
			in = data
			return 0
		})
		if code != 0 {
			return code
		}
	} else if c.Stdin != nil {
		data, err := io.ReadAll(c.Stdin)
		if err != nil {
			fmt.Fprintf(c.Stderr, "gpg: read error: %v\n", err)
			return 2
		}
		in = data
	}
	s := string(in)
	if !strings.Contains(s, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		fmt.Fprintf(c.Stderr, "gpg: no valid OpenPGP data found.\n")
		return 2
	}
	project := "unknown"
	if i := strings.Index(s, "lab-keyring "); i >= 0 {
		project = strings.Fields(s[i:])[1]
	}
	out := []byte(labKeyring(project))
	target, toFile := cl.value("o", "output")
	if !toFile || target == "-" {
		c.Stdout.Write(out)
		return 0
	}
	return w.run(c, func(p *pctx) int {
		path := absPath(c.Dir, target)
		if rootFileExists(p.root, path) && !cl.has("yes") {
			p.eprintf("File '%s' exists. Overwrite? (y/N) EOF while reading input\ngpg: dearmoring failed: File exists\n", target)
			return 2
		}
		if err := writeRootFile(p.root, path, out, 0o644); err != nil {
			p.eprintf("gpg: can't create '%s': %v\n", target, err)
			return 2
		}
		return 0
	})
}

// absPath resolves a path of a command relative to its working directory.
func absPath(dir, p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	if dir == "" {
		dir = "/"
	}
	return strings.TrimSuffix(dir, "/") + "/" + p
}
