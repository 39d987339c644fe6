package ssh

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/kevinburke/ssh_config"
)

// endpoint is a Target resolved against ssh_config: where to connect, as
// whom, with which keys, through which jump hosts.
type endpoint struct {
	name          string // for messages
	alias         string // what ssh_config Host patterns were matched against
	host          string // the real host name or address
	port          int
	user          string
	identityFiles []string // explicit first, then ssh_config's
	jumps         []endpoint
}

func (e endpoint) addr() string { return net.JoinHostPort(e.host, strconv.Itoa(e.port)) }

// sshConfig is a parsed ssh_config file; a nil *sshConfig has no entries.
type sshConfig struct {
	path string
	cfg  *ssh_config.Config
}

func (c *sshConfig) get(alias, key string) (string, error) {
	if c == nil {
		return "", nil
	}
	v, err := c.cfg.Get(alias, key)
	if err != nil {
		return "", fmt.Errorf("ssh config %s: Host %s: %s: %w", c.path, alias, key, err)
	}
	return strings.TrimSpace(v), nil
}

func (c *sshConfig) getAll(alias, key string) ([]string, error) {
	if c == nil {
		return nil, nil
	}
	v, err := c.cfg.GetAll(alias, key)
	if err != nil {
		return nil, fmt.Errorf("ssh config %s: Host %s: %s: %w", c.path, alias, key, err)
	}
	return v, nil
}

// sshConfigFile parses Options.SSHConfigFile once. A missing file is an
// empty configuration; an unreadable or malformed one is an error.
func (d *Dialer) sshConfigFile() (*sshConfig, error) {
	d.configOnce.Do(func() {
		path := d.opts.SSHConfigFile
		if path == "none" {
			return
		}
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err != nil {
			d.configErr = fmt.Errorf("ssh config: %w", err)
			return
		}
		defer f.Close()
		cfg, err := ssh_config.Decode(f)
		if err != nil {
			d.configErr = fmt.Errorf("ssh config %s: %w", path, err)
			return
		}
		d.config = &sshConfig{path: path, cfg: cfg}
	})
	return d.config, d.configErr
}

// resolve turns t into an endpoint: t's own fields, then ssh_config's,
// then defaults.
func (d *Dialer) resolve(t Target) (endpoint, error) {
	alias := strings.TrimSpace(t.Address)
	if alias == "" {
		alias = strings.TrimSpace(t.Name)
	}
	if alias == "" {
		return endpoint{}, errors.New("ssh: target has neither an address nor a name")
	}
	name := t.Name
	if name == "" {
		name = alias
	}
	cfg, err := d.sshConfigFile()
	if err != nil {
		return endpoint{}, fmt.Errorf("%s: %w", name, err)
	}
	ep, err := d.resolveHost(cfg, alias, t.Port, t.User, t.IdentityFile)
	if err != nil {
		return endpoint{}, fmt.Errorf("%s: %w", name, err)
	}
	ep.name = name
	if len(t.Jumps) > 0 {
		for _, j := range t.Jumps {
			jep, err := d.resolveJump(cfg, j)
			if err != nil {
				return endpoint{}, fmt.Errorf("%s: jump host %s: %w", name, j.Name, err)
			}
			jep.name = name + " via jump host " + jep.name
			ep.jumps = append(ep.jumps, jep)
		}
		return ep, nil
	}
	jump := strings.TrimSpace(t.ProxyJump)
	if jump == "" {
		if jump, err = cfg.get(alias, "ProxyJump"); err != nil {
			return endpoint{}, fmt.Errorf("%s: %w", name, err)
		}
	}
	if jump == "" || strings.EqualFold(jump, "none") {
		return ep, nil
	}
	for hop := range strings.SplitSeq(jump, ",") {
		u, h, p, err := parseHop(hop)
		if err != nil {
			return endpoint{}, fmt.Errorf("%s: ProxyJump %q: %w", name, jump, err)
		}
		jep, err := d.resolveHost(cfg, h, p, u, "")
		if err != nil {
			return endpoint{}, fmt.Errorf("%s: ProxyJump %q: %w", name, jump, err)
		}
		jep.name = name + " via jump host " + jep.addr()
		ep.jumps = append(ep.jumps, jep)
	}
	return ep, nil
}

// resolveJump resolves a jump host given as a Target, as resolve does a
// target but for its jumps.
func (d *Dialer) resolveJump(cfg *sshConfig, j Target) (endpoint, error) {
	alias := strings.TrimSpace(j.Address)
	if alias == "" {
		alias = strings.TrimSpace(j.Name)
	}
	if alias == "" {
		return endpoint{}, errors.New("neither an address nor a name")
	}
	ep, err := d.resolveHost(cfg, alias, j.Port, j.User, j.IdentityFile)
	ep.name = cmp.Or(j.Name, ep.addr())
	return ep, err
}

// resolveHost applies ssh_config's HostName, Port, User and IdentityFile
// for alias where the explicit values are unset.
func (d *Dialer) resolveHost(cfg *sshConfig, alias string, port int, login, identity string) (endpoint, error) {
	ep := endpoint{alias: alias, host: alias, port: port, user: login}
	if port < 0 || port > 65535 {
		return ep, fmt.Errorf("port %d out of range", port)
	}
	hn, err := cfg.get(alias, "HostName")
	if err != nil {
		return ep, err
	}
	if hn != "" {
		ep.host = expandTokens(hn, map[byte]string{'h': alias})
	}
	if ep.port == 0 {
		p, err := cfg.get(alias, "Port")
		if err != nil {
			return ep, err
		}
		ep.port = 22
		if p != "" {
			if ep.port, err = strconv.Atoi(p); err != nil || ep.port < 1 || ep.port > 65535 {
				return ep, fmt.Errorf("ssh config %s: Host %s: bad Port %q", cfg.path, alias, p)
			}
		}
	}
	if ep.user == "" {
		if ep.user, err = cfg.get(alias, "User"); err != nil {
			return ep, err
		}
	}
	if ep.user == "" {
		ep.user = localUser()
	}
	home, _ := os.UserHomeDir()
	tokens := map[byte]string{'d': home, 'u': localUser(), 'h': ep.host, 'r': ep.user, 'p': strconv.Itoa(ep.port), 'n': alias}
	if identity != "" {
		ep.identityFiles = append(ep.identityFiles, expandPath(identity, home))
	}
	files, err := cfg.getAll(alias, "IdentityFile")
	if err != nil {
		return ep, err
	}
	for _, f := range files {
		ep.identityFiles = append(ep.identityFiles, expandPath(expandTokens(strings.Trim(f, `"`), tokens), home))
	}
	return ep, nil
}

// HopTarget is the Target of one ProxyJump hop, "[user@]host[:port]".
func HopTarget(hop string) (Target, error) {
	login, host, port, err := parseHop(hop)
	if err != nil {
		return Target{}, fmt.Errorf("ProxyJump hop %q: %w", hop, err)
	}
	return Target{Name: strings.TrimSpace(hop), Address: host, Port: port, User: login}, nil
}

// parseHop parses one ProxyJump hop: [ssh://][user@]host[:port], with an
// IPv6 address in brackets.
func parseHop(hop string) (login, host string, port int, err error) {
	hop = strings.TrimPrefix(strings.TrimSpace(hop), "ssh://")
	if i := strings.LastIndexByte(hop, '@'); i >= 0 {
		login, hop = hop[:i], hop[i+1:]
	}
	host = hop
	if strings.HasPrefix(hop, "[") || strings.Count(hop, ":") == 1 {
		h, p, splitErr := net.SplitHostPort(hop)
		switch {
		case splitErr == nil:
			host = h
			if port, err = strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
				return "", "", 0, fmt.Errorf("bad port in %q", hop)
			}
		case strings.HasPrefix(hop, "[") && strings.HasSuffix(hop, "]"):
			host = hop[1 : len(hop)-1]
		default:
			return "", "", 0, fmt.Errorf("bad host in %q: %v", hop, splitErr)
		}
	}
	if host == "" {
		return "", "", 0, fmt.Errorf("empty host in %q", hop)
	}
	return login, host, port, nil
}

// expandTokens replaces ssh_config %-tokens found in tokens, and %% by %.
// Unknown tokens are left as written.
func expandTokens(s string, tokens map[byte]string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		if s[i] == '%' {
			b.WriteByte('%')
		} else if v, ok := tokens[s[i]]; ok {
			b.WriteString(v)
		} else {
			b.WriteByte('%')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func expandPath(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}

var localUser = sync.OnceValue(func() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
})
