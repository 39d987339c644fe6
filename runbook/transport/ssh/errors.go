package ssh

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyProblem says why a host key was refused.
type HostKeyProblem int

const (
	// HostKeyUnknown: known_hosts lists no key and no authority for the host.
	HostKeyUnknown HostKeyProblem = iota + 1
	// HostKeyChanged: the host presented a key other than the one recorded,
	// which may be an attack. Always refused.
	HostKeyChanged
	// HostKeyRevoked: the key is marked @revoked.
	HostKeyRevoked
	// HostKeyInvalid: a host certificate that does not verify (no trusted
	// authority for the host, wrong principal, expired).
	HostKeyInvalid
)

// HostKeyError is a refused host key. It does not wrap
// transport.ErrUnreachable: retrying cannot help, a person must decide.
type HostKeyError struct {
	// Host is the host as known_hosts names it: "host" or "[host]:port".
	Host    string
	Problem HostKeyProblem
	// Presented is the key the host offered.
	Presented ssh.PublicKey
	// Known are the keys known_hosts holds for the host (HostKeyChanged),
	// or the revoked entry (HostKeyRevoked).
	Known []knownhosts.KnownKey
	// KnownHostsFiles are the files consulted.
	KnownHostsFiles []string
	// Err is the certificate check's error (HostKeyInvalid).
	Err error

	host string
	port int
}

// Error says what was refused and what the operator can do about it.
func (e *HostKeyError) Error() string {
	presented := keyString(e.Presented)
	switch e.Problem {
	case HostKeyChanged:
		known := make([]string, len(e.Known))
		for i, k := range e.Known {
			known[i] = fmt.Sprintf("%s (%s:%d)", keyString(k.Key), k.Filename, k.Line)
		}
		return fmt.Sprintf("host key for %s has CHANGED (someone may be intercepting the connection): "+
			"it presented %s, known_hosts expects %s; if the change is legitimate, remove the old entry "+
			"(ssh-keygen -R '%s' -f %s) and check the new fingerprint before trusting it",
			e.Host, presented, strings.Join(known, ", "), e.Host, e.Known[0].Filename)
	case HostKeyRevoked:
		return fmt.Sprintf("host key for %s is revoked (%s:%d): it presented %s",
			e.Host, e.Known[0].Filename, e.Known[0].Line, presented)
	case HostKeyInvalid:
		return fmt.Sprintf("host certificate for %s refused: %v (presented %s)", e.Host, e.Err, presented)
	default:
		file := "~/.ssh/known_hosts"
		if len(e.KnownHostsFiles) > 0 {
			file = e.KnownHostsFiles[0]
		}
		scan := "ssh-keyscan " + e.host
		if e.port != 22 && e.port != 0 {
			scan = "ssh-keyscan -p " + strconv.Itoa(e.port) + " " + e.host
		}
		return fmt.Sprintf("host key for %s is not known (known_hosts: %s); it presented %s. "+
			"To trust it, check that fingerprint with the host's owner, then run `%s >> %s`, "+
			"or connect once with --accept-new-host-keys",
			e.Host, strings.Join(e.KnownHostsFiles, ", "), presented, scan, file)
	}
}

// Unwrap returns the certificate check's error, if any.
func (e *HostKeyError) Unwrap() error { return e.Err }

func keyString(k ssh.PublicKey) string {
	if k == nil {
		return "no key"
	}
	if cert, ok := k.(*ssh.Certificate); ok {
		return fmt.Sprintf("certificate %s %s signed by %s", cert.Key.Type(), ssh.FingerprintSHA256(cert.Key),
			ssh.FingerprintSHA256(cert.SignatureKey))
	}
	return k.Type() + " " + ssh.FingerprintSHA256(k)
}
