package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress is returned when a webhook would connect to an address
// inside the network Intake runs in (SSRF).
var ErrBlockedAddress = errors.New("webhook address is not public")

// Timeout bounds one delivery attempt, from dialling to the answer's last
// byte; it stays below the job's timeout so the worker records the failure.
const Timeout = 15 * time.Second

// NewHTTPClient returns the client deliveries are sent with: the address is
// checked (Classify) when it is dialled — after DNS, so a name that
// resolves (or is rebound) to a private address is refused too — unless
// allowPrivate; names are resolved by Go's own resolver, never the
// system's (getaddrinfo reads 127.1 or 2130706433 as 127.0.0.1), and a
// numeric host that is not a canonical address is refused before any
// lookup; redirects are not followed; no proxy from the environment (it
// would dial for us, past the check); every attempt ends within Timeout.
func NewHTTPClient(allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Resolver: &net.Resolver{PreferGo: true}}
	if !allowPrivate {
		dialer.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
			}
			if ok, why := Classify(ap.Addr()); !ok {
				return fmt.Errorf("%w: %s is %s", ErrBlockedAddress, ap.Addr(), why)
			}
			return nil
		}
	}
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return nil, err
		}
		if _, err := netip.ParseAddr(host); err != nil && endsInNumber(host) {
			return nil, fmt.Errorf("%w: %s is a number, not a name or a canonical IPv4 address", ErrBlockedAddress, host)
		}
		return dialer.DialContext(ctx, network, address)
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dial,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: Timeout,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
