package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	intake "github.com/intakehq/intake"
	"github.com/intakehq/intake/api"
	"github.com/intakehq/intake/internal/httpedge"
)

// mcpCommand is `intake mcp --url URL`: the MCP tools of a remote Intake,
// served over stdio for desktop agents that start their servers as
// processes (README, "Agents: MCP"). The key is INTAKE_API_KEY, never a
// flag, so it stays out of process lists and shell history.
//
// It is a proxy, not a second implementation: every tools/list, tools/call
// and resources request goes to the remote's /mcp with the key, and its
// answer comes back as it was. So the remote decides everything the tools
// do — which tools a read_only key is shown, its rate limits, exactly-once
// — and a new tool there is one here without a new build. What the proxy
// adds is the failures of the way there, as tool errors carrying a problem
// like every other: the remote unreachable (service-unavailable: retry
// with the same idempotency_key), or its refusal of the key
// (unauthorized), or of the request (rate-limited, with its Retry-After).
func mcpCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mcp", flag.ContinueOnError)
	raw := fs.String("url", "", "the remote Intake's base URL, such as https://intake.example.com (its /mcp is used)")
	allowHTTP := fs.Bool("allow-http", false, "allow an http --url beyond this machine (a private network you trust: the key crosses it in the clear)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	endpoint, err := mcpEndpoint(*raw, *allowHTTP)
	if err != nil {
		return usageError{err.Error()}
	}
	key := strings.TrimSpace(getenv("INTAKE_API_KEY"))
	if key == "" {
		return usageError{"INTAKE_API_KEY is not set: make a key in the dashboard (Account → API keys) and pass it in the environment, never as a flag"}
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil)) // stdout is the protocol's
	p := &mcpProxy{endpoint: endpoint, key: key, logger: logger,
		http: &http.Client{Timeout: 2 * time.Minute, Transport: problemCatcher{next: http.DefaultTransport, key: key},
			CheckRedirect: refuseRedirect}}
	defer p.close()
	srv := mcp.NewServer(&mcp.Implementation{Name: "intake", Title: "Intake (via " + endpoint + ")", Version: version}, &mcp.ServerOptions{
		Instructions: api.MCPInstructions,
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}, Resources: &mcp.ResourceCapabilities{}},
		Logger:       logger,
	})
	srv.AddReceivingMiddleware(p.forward)
	logger.Info("intake mcp: serving the tools of a remote Intake over stdio", "remote", endpoint)
	err = srv.Run(ctx, &mcp.IOTransport{Reader: io.NopCloser(stdin), Writer: nopWriteCloser{stdout}})
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, io.EOF) {
		return nil // the agent closed stdin, or a signal
	}
	return err
}

// mcpEndpoint is the remote's /mcp URL from --url: an http or https base
// URL, with or without /mcp at its end.
func mcpEndpoint(raw string, allowHTTP bool) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("--url is required: the remote Intake's address, such as https://intake.example.com")
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("--url %q must be an http or https address without credentials or query, such as https://intake.example.com", raw)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) && !allowHTTP {
		return "", fmt.Errorf("--url %q must be https: over http the API key would cross the network in the clear (http is for this machine: localhost, 127.0.0.1, [::1]; on a private network you trust, add --allow-http)", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/mcp") + "/mcp"
	return u.String(), nil
}

// refuseRedirect stops at a redirect: the transport sets the key on
// every request, so following one would hand it to whatever host the
// remote names. /mcp never redirects; --url should name its final address.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("the remote redirected to %s, which intake mcp does not follow (the API key would go with it): pass the final address as --url", req.URL.Redacted())
}

// isLoopback reports whether host names this machine.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// mcpProxy holds the client session with the remote, made when first
// needed and made again after it failed (the remote is stateless, so a new
// session loses nothing).
type mcpProxy struct {
	endpoint, key string
	logger        *slog.Logger
	http          *http.Client

	mu      sync.Mutex
	session *mcp.ClientSession
}

func (p *mcpProxy) remote(ctx context.Context) (*mcp.ClientSession, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.session != nil {
		return p.session, nil
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "intake-mcp-stdio", Version: version}, nil)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: p.endpoint, HTTPClient: p.http,
		DisableStandaloneSSE: true, MaxRetries: -1}, nil)
	if err != nil {
		return nil, err
	}
	p.session = cs
	return cs, nil
}

// drop forgets a session that failed, so the next request makes another.
func (p *mcpProxy) drop(cs *mcp.ClientSession) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.session == cs {
		p.session = nil
		cs.Close()
	}
}

func (p *mcpProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.session != nil {
		p.session.Close()
	}
}

// forward answers the tools' and resources' methods from the remote; the
// rest (initialize, ping…) is this server's own.
func (p *mcpProxy) forward(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		switch method {
		case "tools/list", "tools/call", "resources/list", "resources/templates/list", "resources/read":
		default:
			return next(ctx, method, req)
		}
		slot := &remoteProblem{}
		ctx = context.WithValue(ctx, remoteProblemKey{}, slot)
		cs, err := p.remote(ctx)
		if err == nil {
			var res mcp.Result
			res, err = p.call(ctx, cs, method, req)
			if err == nil {
				return res, nil
			}
			if !isProtocolError(err) {
				p.drop(cs)
			}
		}
		if isProtocolError(err) {
			return nil, err // the remote's own JSON-RPC error (an unknown tool, a resource not found)
		}
		problem := slot.problem(p.endpoint, err)
		p.logger.Warn("intake mcp: the remote did not answer", "method", method, "status", problem.Status, "err", err)
		if method != "tools/call" {
			return nil, fmt.Errorf("%s: %s", problem.Title, problem.Detail)
		}
		text, _ := json.Marshal(problem)
		return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: problem}, nil
	}
}

func (p *mcpProxy) call(ctx context.Context, cs *mcp.ClientSession, method string, req mcp.Request) (mcp.Result, error) {
	switch method {
	case "tools/list":
		return cs.ListTools(ctx, req.GetParams().(*mcp.ListToolsParams))
	case "tools/call":
		in := req.GetParams().(*mcp.CallToolParamsRaw)
		return cs.CallTool(ctx, &mcp.CallToolParams{Meta: in.Meta, Name: in.Name, Arguments: in.Arguments})
	case "resources/list":
		return cs.ListResources(ctx, req.GetParams().(*mcp.ListResourcesParams))
	case "resources/templates/list":
		return cs.ListResourceTemplates(ctx, req.GetParams().(*mcp.ListResourceTemplatesParams))
	default: // resources/read
		return cs.ReadResource(ctx, req.GetParams().(*mcp.ReadResourceParams))
	}
}

// isProtocolError: the remote answered, with a JSON-RPC error — not the
// SDK's client refusing to send (its code -32005, "rejected by transport",
// which it also gives for a connection refused).
func isProtocolError(err error) bool {
	const rejectedByTransport = -32005
	var werr *jsonrpc.Error
	return errors.As(err, &werr) && werr.Code != rejectedByTransport
}

// remoteProblem is where problemCatcher leaves the problem a remote's
// refusal carried (the SDK's client keeps only its status text).
type remoteProblem struct {
	mu sync.Mutex
	p  *httpedge.Problem
}

type remoteProblemKey struct{}

func (s *remoteProblem) set(p *httpedge.Problem) {
	s.mu.Lock()
	s.p = p
	s.mu.Unlock()
}

// problem is what to tell the agent: the remote's own problem when it sent
// one, else the remote being unreachable, which is safe to retry.
func (s *remoteProblem) problem(endpoint string, err error) *httpedge.Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.p != nil {
		return s.p
	}
	p := httpedge.ProblemFor(&intake.Error{Kind: intake.Unavailable, Type: intake.TypeUnavailable, Title: "Intake is unreachable",
		Detail: fmt.Sprintf("%s did not answer (%v). Nothing is known to be stored: retry later with the same idempotency_key, which stores a submission at most once.", endpoint, err)})
	return p
}

// problemCatcher sends the key with every request to the remote, and keeps
// the problem of a refusal (401, 403, 429…) for forward to show.
type problemCatcher struct {
	next http.RoundTripper
	key  string
}

func (c problemCatcher) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+c.key)
	res, err := c.next.RoundTrip(r)
	if err != nil || res.StatusCode < 400 {
		return res, err
	}
	slot, _ := r.Context().Value(remoteProblemKey{}).(*remoteProblem)
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); slot != nil && mt == "application/problem+json" {
		var p httpedge.Problem
		body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
		res.Body.Close()
		if json.Unmarshal(body, &p) == nil && p.Type != "" {
			if ra := res.Header.Get("Retry-After"); ra != "" {
				p.Detail += " (Retry-After: " + ra + " s)"
			}
			slot.set(&p)
		}
		res.Body = io.NopCloser(strings.NewReader(string(body)))
	}
	return res, nil
}
