package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"
)

// clusterShutdownDelay is each node's INTAKE_SHUTDOWN_DELAY: above the
// balancer's time to see /readyz turn 503 (inter 200ms, fall 1), so that
// a node stops accepting only once no new request is sent to it.
const clusterShutdownDelay = "1s"

// haproxyConfig is the balancer's configuration: round robin over the
// nodes, each checked on /readyz five times a second; a request that found
// no connection, or no answer, is sent again to another node (retry-on,
// redispatch) — safe for Intake, where a repeat of a submission is
// answered as its first.
var haproxyConfig = template.Must(template.New("haproxy").Parse(`# written by intake-bench -cluster
global
    maxconn 4096
    stats socket {{.Socket}} mode 600 level user

defaults
    mode http
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 30s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout

frontend intake
    bind {{.Listen}}
    default_backend nodes

backend nodes
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 200ms fastinter 100ms downinter 200ms fall 1 rise 1
{{- range $i, $addr := .Nodes}}
    server node{{$i}} {{$addr}} check
{{- end}}
`))

// startCluster starts -cluster nodes (intake serve --workers=false) on
// free ports, one intake worker, and HAProxy at -url in front of
// the nodes, and waits until the balancer answers /readyz.
func (b *bench) startCluster(ctx context.Context, env []string, settings, logPath string) error {
	cfg := b.cfg
	u, _ := url.Parse(cfg.URL) // validated
	var addrs []string
	for i := 1; i <= cfg.Cluster; i++ {
		// One after another: the first applies the migrations. Each on a
		// port free a moment ago; should another process take it first,
		// the node cannot bind and is started again on another.
		var err error
		for try := 0; try < 3; try++ {
			var addr string
			if addr, err = freeHostPort(u.Hostname()); err != nil {
				return err
			}
			node := &process{name: fmt.Sprintf("intake serve #%d", i), bin: cfg.Intake, args: []string{"serve", "--workers=false"},
				env: append(slices.Clone(env), "INTAKE_ADDR="+addr, "INTAKE_SHUTDOWN_DELAY="+clusterShutdownDelay),
				log: b.log, ready: "http://" + addr + "/readyz"}
			if err = node.start(ctx, max(cfg.Wait, restartWait)); err == nil {
				addrs = append(addrs, addr)
				b.nodes = append(b.nodes, node)
				break
			}
		}
		if err != nil {
			return err
		}
	}
	b.worker = &process{name: "intake worker", bin: cfg.Intake, args: []string{"worker"}, env: env, log: b.log}
	if err := b.worker.start(ctx, 0); err != nil {
		return err
	}
	var conf strings.Builder
	confPath := filepath.Join(filepath.Dir(logPath), fmt.Sprintf("intake-bench-%d-haproxy.cfg", os.Getpid()))
	// Absolute (HAProxy reads a relative path as an address) and short (a
	// socket's path has at most 107 bytes): in the temporary directory.
	b.balancerSocket = filepath.Join(os.TempDir(), fmt.Sprintf("intake-bench-%d-haproxy.sock", os.Getpid()))
	os.Remove(b.balancerSocket) // a stale one of an earlier run of this pid
	if err := haproxyConfig.Execute(&conf, struct {
		Listen, Socket string
		Nodes          []string
	}{u.Host, b.balancerSocket, addrs}); err != nil {
		return err
	}
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return fmt.Errorf("haproxy configuration: %w", err)
	}
	b.balancer = &process{name: "haproxy", bin: cfg.HAProxy, args: []string{"-db", "-f", confPath}, env: os.Environ(), log: b.log, ready: cfg.URL + "/readyz"}
	if err := b.balancer.start(ctx, restartWait); err != nil {
		return fmt.Errorf("%w (is HAProxy installed? apt-get install haproxy; or name it with -haproxy)", err)
	}
	fmt.Fprintf(b.out, "started a cluster: %d × %s serve --workers=false at %s (INTAKE_SHUTDOWN_DELAY=%s), %[2]s worker, %s at %s (%s) with %s; their output in %s\n",
		cfg.Cluster, cfg.Intake, strings.Join(addrs, ", "), clusterShutdownDelay, cfg.HAProxy, cfg.URL, confPath, settings, logPath)
	return nil
}

// balancerSees waits until the balancer has marked node i UP again: a
// node ready by its own /readyz still gets no request until the
// balancer's next check, and stopping the next node before then would
// leave none in a two-node cluster. It asks HAProxy's stats socket.
func (b *bench) balancerSees(ctx context.Context, i int) error {
	if b.balancer == nil {
		return nil
	}
	name := fmt.Sprintf("node%d", i)
	ctx, cancel := context.WithTimeout(ctx, restartWait)
	defer cancel()
	for {
		status, err := haproxyStatus(b.balancerSocket, name)
		if err == nil && strings.HasPrefix(status, "UP") {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the balancer did not mark %s UP within %s (last status %q, %v)", name, restartWait, status, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// haproxyStatus is the status column ("UP", "DOWN", "UP 1/2", …) of
// server in HAProxy's "show stat" CSV, read from its stats socket.
func haproxyStatus(socket, server string) (string, error) {
	conn, err := net.DialTimeout("unix", socket, time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("show stat\n")); err != nil {
		return "", err
	}
	rows, err := csv.NewReader(conn).ReadAll()
	if err != nil {
		return "", err
	}
	col := -1
	for _, row := range rows {
		if len(row) > 0 && strings.HasPrefix(row[0], "# ") {
			col = slices.Index(row, "status")
			continue
		}
		if col >= 0 && len(row) > col && len(row) > 1 && row[1] == server {
			return row[col], nil
		}
	}
	return "", fmt.Errorf("no server %s in the balancer's stats", server)
}

// freeHostPort is host with a port nothing listens on now.
func freeHostPort(host string) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("a free port for a node: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// rollingFailures are the requests that failed while the cluster's rolling
// restart ran, and its span; ok is false when none ran.
func (b *bench) rollingFailures(res *loadResult) (n int, took time.Duration, ok bool) {
	from, to := b.rolled[0], b.rolled[1]
	if from.IsZero() || to.IsZero() {
		return 0, 0, false
	}
	for _, at := range res.failedAt {
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	return n, to.Sub(from), true
}
