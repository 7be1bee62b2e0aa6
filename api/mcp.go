package api

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/intakehq/intake"
	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/audit"
	"github.com/intakehq/intake/forms"
	"github.com/intakehq/intake/internal/httpedge"
	"github.com/intakehq/intake/internal/textcheck"
	"github.com/intakehq/intake/people"
	"github.com/intakehq/intake/submissions"
	"github.com/intakehq/intake/webhooks"
)

// /mcp is the Model Context Protocol edge for agents (README, "Agents:
// MCP"; api/agents.md, served at /docs/agents). It is one more edge over
// the same services as /api/v1: each tool reads its arguments, calls the method the REST
// handler calls, and answers what the REST handler would (its JSON shape);
// an error is a tool error carrying the problem httpedge.ProblemFor makes
// of it. The route sits behind the API's authentication and rate limits;
// a read_only key is shown only the tools that read, and the others
// refuse it with the forbidden problem, as requireScope does for methods.

// mcpMaxBody bounds a request to /mcp: a submission's JSON data (1 MiB,
// docs/SECURITY.md) and the message around it.
const mcpMaxBody = maxJSONBody + 64<<10

// mcpCaller is who calls a tool: the API key's principal, from the
// client's address. authenticate found it; mcpToken hands it to the SDK,
// which gives it to each call in its RequestExtra.
type mcpCaller struct {
	p         *accounts.Principal
	ip        string
	userAgent string // the MCP client's, stored on what submit stores
}

func (c mcpCaller) actor() audit.Actor { return audit.APIKey(c.p.KeyID, c.ip) }

// mcpHandler is /mcp: the SDK's streamable HTTP transport, stateless (each
// POST stands alone, so no session outlives its request and nothing is
// kept per client), answering JSON rather than event streams.
func (s *Server) mcpHandler() http.Handler {
	srv := s.mcpServer()
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{
		Stateless: true, JSONResponse: true, Logger: s.Logger, MaxRequestBodyBytes: mcpMaxBody,
	})
	return auth.RequireBearerToken(s.mcpToken, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(s.noBatches(h))
}

// errMCPBatch refuses a JSON-RPC batch. MCP dropped batching in protocol
// 2025-06-18, which the SDK enforces only for a client that says it speaks
// that version or later; an older (or absent) version header had every
// call of a batch run for one request of the rate limit, and all their
// answers held in memory at once.
var errMCPBatch = &intake.Error{Kind: intake.Malformed, Type: intake.TypeMalformed, Title: "Batches are not accepted",
	Msg:    "JSON-RPC batch sent to /mcp",
	Detail: "Send one JSON-RPC message per request; /mcp does not take batches (MCP removed them in protocol 2025-06-18)."}

// noBatches answers a body that is a JSON array with errMCPBatch before
// the SDK reads it, looking only at its first byte that is not space
// (however much space comes first, within the body's limit).
func (s *Server) noBatches(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		br := bufio.NewReader(http.MaxBytesReader(w, r.Body, mcpMaxBody))
		for {
			c, err := br.ReadByte()
			if err != nil {
				break // empty or unreadable: the SDK answers that
			}
			if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
				continue
			}
			if c == '[' {
				s.writeError(w, r, errMCPBatch)
				return
			}
			br.UnreadByte()
			break
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{br, r.Body}
		next.ServeHTTP(w, r)
	})
}

// mcpToken passes the principal authenticate put in the request's context
// to the SDK; the key itself was checked there.
func (s *Server) mcpToken(_ context.Context, _ string, r *http.Request) (*auth.TokenInfo, error) {
	p, ok := r.Context().Value(principalKey{}).(*accounts.Principal)
	if !ok {
		return nil, auth.ErrInvalidToken
	}
	return &auth.TokenInfo{UserID: strconv.FormatInt(p.KeyID, 10),
		Extra: map[string]any{"caller": mcpCaller{p: p, ip: s.clientIP(r), userAgent: r.UserAgent()}}}, nil
}

func callerOf(extra *mcp.RequestExtra) (mcpCaller, bool) {
	if extra == nil || extra.TokenInfo == nil {
		return mcpCaller{}, false
	}
	c, ok := extra.TokenInfo.Extra["caller"].(mcpCaller)
	return c, ok
}

// MCPInstructions is what an MCP client is told of the server when it
// connects, over /mcp and over `intake mcp`'s stdio.
const MCPInstructions = "Intake stores form submissions exactly once. Find a form with list_forms, read its contract with get_form, " +
	"and send with submit: always pass an idempotency_key, and reuse the same key when you retry, so a retry never stores twice."

// mcpServer makes the MCP server with every tool and the schema resource.
func (s *Server) mcpServer() *mcp.Server {
	srv := mcp.NewServer(&mcp.Implementation{Name: "intake", Title: "Intake", Version: "1"}, &mcp.ServerOptions{
		Instructions: MCPInstructions,
	})
	srv.AddReceivingMiddleware(readOnlyTools, s.toolCalls, plainResourceURIs)
	s.addMCPTools(srv)
	srv.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "form_schema", Title: "A form's contract as JSON Schema", URITemplate: "intake://forms/{id}/schema",
		Description: "The JSON Schema (draft 2020-12) a submission's data must meet; id is the form's public id.",
		MIMEType:    "application/schema+json",
	}, s.formSchemaResource)
	return srv
}

// plainResourceURIs refuses a resources/read whose URI is not valid UTF-8
// or holds a control character, as invalid params: the SDK's not-found
// error quotes the URI with Go's %q, which is not JSON for those, and the
// whole answer was lost (an empty 200).
func plainResourceURIs(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method == "resources/read" {
			if p, ok := req.GetParams().(*mcp.ReadResourceParams); ok && !plainText(p.URI) {
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "the resource URI is not valid UTF-8 or holds a control character"}
			}
		}
		return next(ctx, method, req)
	}
}

// plainText reports whether s is valid UTF-8 without control characters.
func plainText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// readOnlyTools lists a read_only key only the tools that read: the
// others would refuse it anyway (mcpTool).
func readOnlyTools(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		list, ok := res.(*mcp.ListToolsResult)
		if err != nil || !ok {
			return res, err
		}
		if c, ok := callerOf(req.GetExtra()); ok && c.p.Scope.MayChange() {
			return res, nil
		}
		out := *list
		out.Tools = nil
		for _, t := range list.Tools {
			if t.Annotations != nil && t.Annotations.ReadOnlyHint {
				out.Tools = append(out.Tools, t)
			}
		}
		return &out, nil
	}
}

// mcpToolNames are the tools' names, the values of the tool label of
// intake_mcp_tool_calls_total; TestMCPToolNamesInMetrics holds them to the
// tools the server lists.
var mcpToolNames = []string{"list_forms", "get_form", "create_form", "update_form", "submit", "list_submissions", "get_submission",
	"search_submissions", "mark_spam", "delete_submission", "merge_submissions", "list_webhooks", "list_deliveries", "redeliver",
	"form_stats", "erase_person"}

// toolCalls counts every tool call by tool and outcome, and gives the
// SDK's own refusal of a call's arguments (their check against the tool's
// input schema, which it answers as plain text) the validation problem
// every other refusal carries.
func (s *Server) toolCalls(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if method != "tools/call" {
			return next(ctx, method, req)
		}
		params := req.GetParams().(*mcp.CallToolParamsRaw)
		tool := params.Name
		var res mcp.Result
		var err error
		// The arguments as sent: the SDK decodes them with encoding/json
		// (invalid UTF-8 read as U+FFFD, numbers as float64) before a tool
		// sees them, so the text rule of every API input is held here, and
		// submit takes its data as sent (rawData).
		if e := textcheck.JSON(params.Arguments, "#/arguments"); e != nil {
			res = s.toolError(ctx, tool, malformedJSON(e.Error()))
		} else {
			// A map, not a struct: encoding/json matches a struct's field
			// names case-insensitively, and "DATA" must not stand in for
			// the "data" the SDK checks against the schema.
			var raw map[string]json.RawMessage
			if tool == "submit" && json.Unmarshal(params.Arguments, &raw) == nil && len(raw["data"]) > 0 {
				ctx = context.WithValue(ctx, rawDataKey{}, raw["data"])
			}
			res, err = next(ctx, method, req)
		}
		outcome := "ok"
		r, _ := res.(*mcp.CallToolResult)
		switch {
		case err != nil || r == nil:
			outcome = "error" // no tool ran: an unknown name, say
		case r.IsError && r.StructuredContent == nil:
			*r = *s.toolError(ctx, tool, argumentsError(r))
			outcome = "refused"
		case r.IsError:
			outcome = "refused"
			if p, ok := r.StructuredContent.(*httpedge.Problem); ok && p.Status >= 500 {
				outcome = "failed"
			}
		}
		if !slices.Contains(mcpToolNames, tool) {
			tool = "other" // never a label value per made-up name
		}
		s.Metrics.MCPToolCalls.WithLabelValues(tool, outcome).Inc()
		return res, err
	}
}

// The SDK's words for arguments its schema check refused: the members
// missing, or the member whose value is wrong.
var (
	schemaMissing = regexp.MustCompile(`missing propert(?:y|ies):? \[?([^\]]*)\]?`)
	schemaMember  = regexp.MustCompile(`/properties/([A-Za-z0-9_]+)`)
	quotedName    = regexp.MustCompile(`"([A-Za-z0-9_]+)"`)
)

// argumentsError is the validation error of arguments the SDK refused
// before the tool ran (r's text is its message), with the fields it names.
func argumentsError(r *mcp.CallToolResult) error {
	msg := "the arguments do not match the tool's input schema"
	if err := r.GetError(); err != nil {
		msg = err.Error()
	} else if len(r.Content) > 0 {
		if t, ok := r.Content[0].(*mcp.TextContent); ok {
			msg = t.Text
		}
	}
	verr := &forms.ValidationError{}
	if m := schemaMissing.FindStringSubmatch(msg); m != nil {
		for _, q := range quotedName.FindAllStringSubmatch(m[1], -1) {
			verr.Errors = append(verr.Errors, forms.FieldError{Field: q[1], Code: forms.CodeRequiredMissing, Rule: "required",
				Message: q[1] + " is required", Pointer: "#/" + q[1]})
		}
	}
	if len(verr.Errors) == 0 {
		fe := forms.FieldError{Code: forms.CodeInvalid, Message: msg}
		if m := schemaMember.FindStringSubmatchIndex(msg); m != nil {
			fe.Field = msg[m[2]:m[3]]
			fe.Pointer = "#/" + fe.Field
			rest := strings.TrimPrefix(msg[m[1]:], ": ")
			if t, ok := strings.CutPrefix(rest, "type: "); ok {
				rest = "is of the wrong type: " + t
			}
			fe.Message = fe.Field + " " + rest
		}
		verr.Errors = append(verr.Errors, fe)
	}
	return verr
}

// mcpTool adds a tool whose handler h gets the caller and the arguments
// and returns the result (a REST body) or an error. A tool that changes
// something refuses a read_only key before h runs.
func mcpTool[In any](s *Server, srv *mcp.Server, t *mcp.Tool, changes bool, h func(context.Context, mcpCaller, In) (any, error)) {
	yes := true
	t.Annotations = &mcp.ToolAnnotations{ReadOnlyHint: !changes, OpenWorldHint: new(bool)}
	if changes {
		t.Annotations.DestructiveHint = &yes
	}
	mcp.AddTool(srv, t, func(ctx context.Context, req *mcp.CallToolRequest, in In) (*mcp.CallToolResult, any, error) {
		c, ok := callerOf(req.Extra)
		if !ok {
			return s.toolError(ctx, t.Name, accounts.ErrUnauthorized), nil, nil
		}
		if changes && !c.p.Scope.MayChange() {
			return s.toolError(ctx, t.Name, accounts.ErrReadOnlyKey), nil, nil
		}
		out, err := h(ctx, c, in)
		if err != nil {
			return s.toolError(ctx, t.Name, err), nil, nil
		}
		return nil, out, nil
	})
}

// toolError is err as a tool error: the problem the API would answer
// (type, title, status, detail and, for a validation error, each field's),
// as structured content and as its JSON text. A 5xx's cause is logged,
// never shown.
func (s *Server) toolError(ctx context.Context, tool string, err error) *mcp.CallToolResult {
	p := httpedge.ProblemFor(err)
	if p.Status >= 500 && !errors.Is(err, context.Canceled) {
		httpedge.Logger(ctx).ErrorContext(ctx, "mcp tool failed", "tool", tool, "status", p.Status, "err", err)
	}
	p.Instance = "/mcp#" + tool
	text, _ := json.Marshal(p)
	return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: string(text)}}, StructuredContent: p}
}

// The tools' arguments, named as the REST API's (api/agents.md).
type (
	mcpFormArgs struct {
		FormID string `json:"form_id" jsonschema:"the form's public id, such as frm_8Hq2ZkP4"`
	}
	mcpPageArgs struct {
		Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the page before; omit for the first page"`
		Limit  *int   `json:"limit,omitempty" jsonschema:"page size, 1 to 100 (default 50)"`
	}
	mcpListSubmissionsArgs struct {
		mcpFormArgs
		mcpPageArgs
		Q     string `json:"q,omitempty" jsonschema:"text the submission's data contains (at most 200 characters)"`
		Spam  *bool  `json:"spam,omitempty" jsonschema:"true: only spam; false: only not spam; omit for both"`
		Since string `json:"since,omitempty" jsonschema:"RFC 3339 time: only submissions received at or after it"`
	}
	mcpSearchArgs struct {
		mcpFormArgs
		mcpPageArgs
		Q string `json:"q" jsonschema:"text to search the form's submissions for (at most 200 characters)"`
	}
	mcpSubmissionArgs struct {
		SubmissionID string `json:"submission_id" jsonschema:"the submission's id, such as sub_01jd9v3k8r2f5q7w9x1y3z5a7b"`
	}
	mcpSpamArgs struct {
		mcpSubmissionArgs
		Spam *bool `json:"spam,omitempty" jsonschema:"true to mark it spam (the default), false to mark it not spam"`
	}
	mcpMergeArgs struct {
		mcpSubmissionArgs
		Into string `json:"into" jsonschema:"the id of the submission of the same form to keep"`
	}
	mcpSubmitArgs struct {
		mcpFormArgs
		Data           map[string]any `json:"data" jsonschema:"the submission: one member per field of the form's contract (get_form)"`
		IdempotencyKey string         `json:"idempotency_key" jsonschema:"a unique key for this submission, 1 to 255 printable characters; reuse the SAME key when you retry it"`
	}
	mcpStatsArgs struct {
		mcpFormArgs
		Days *int `json:"days,omitempty" jsonschema:"how many days back, 1 to 365 (default 30)"`
	}
	mcpWebhookArgs struct {
		WebhookID string `json:"webhook_id" jsonschema:"the webhook endpoint's id"`
		mcpPageArgs
	}
	mcpDeliveryArgs struct {
		DeliveryID string `json:"delivery_id" jsonschema:"the delivery's id"`
	}
	mcpCreateFormArgs struct {
		Name     string           `json:"name" jsonschema:"the form's name"`
		Fields   []map[string]any `json:"fields,omitempty" jsonschema:"the contract's fields, as in POST /api/v1/forms"`
		Settings map[string]any   `json:"settings,omitempty" jsonschema:"the form's settings, as in POST /api/v1/forms"`
	}
	mcpUpdateFormArgs struct {
		mcpFormArgs
		Name     *string          `json:"name,omitempty" jsonschema:"a new name"`
		Fields   []map[string]any `json:"fields,omitempty" jsonschema:"the new contract's fields (all of them), as in PATCH /api/v1/forms/{id}"`
		Settings map[string]any   `json:"settings,omitempty" jsonschema:"the settings to change (only the members named change)"`
	}
	mcpEmailArgs struct {
		Email string `json:"email" jsonschema:"the person's email address"`
	}
)

// values are the page arguments as the query the REST API reads.
func (a mcpPageArgs) values() url.Values {
	q := url.Values{}
	if a.Cursor != "" {
		q.Set("cursor", a.Cursor)
	}
	if a.Limit != nil {
		q.Set("limit", strconv.Itoa(*a.Limit))
	}
	return q
}

// submitBody is what the tool submit answers: the stored answer of POST
// /f/{id} in JSON mode, and whether it was a replay of an earlier request
// with the same key (nothing new was stored).
type submitBody struct {
	Replayed bool            `json:"replayed"`
	Status   int             `json:"status"`
	Answer   json.RawMessage `json:"answer"`
}

// formWithSchema is get_form's answer: the form as the API shows it, and
// its contract as JSON Schema (what GET /f/{id} answers an agent).
type formWithSchema struct {
	formBody
	JSONSchema map[string]any `json:"json_schema"`
}

// mcpArgsJSON re-reads v (a tool's arguments, already decoded by the SDK)
// into out with the REST body's strictness (strictJSON): the same
// unknown-member, type and text checks, the same errors.
func mcpArgsJSON(v any, where string, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return malformedJSON(err.Error())
	}
	return strictJSON(b, where, out)
}

func (s *Server) addMCPTools(srv *mcp.Server) {
	mcpTool(s, srv, &mcp.Tool{Name: "list_forms", Description: "List the account's forms, newest first, as GET /api/v1/forms does."}, false,
		func(ctx context.Context, c mcpCaller, in mcpPageArgs) (any, error) {
			return s.formsPage(ctx, c.p.AccountID, in.values())
		})
	mcpTool(s, srv, &mcp.Tool{Name: "get_form", Description: "A form's settings and fields, and its contract as JSON Schema (json_schema): what submit's data must meet."}, false,
		func(ctx context.Context, c mcpCaller, in mcpFormArgs) (any, error) {
			f, err := forms.ForAccount(ctx, s.DB, c.p.AccountID, in.FormID)
			if err != nil {
				return nil, err
			}
			b, err := s.formJSON(ctx, f)
			if err != nil {
				return nil, err
			}
			return formWithSchema{formBody: b, JSONSchema: f.JSONSchema(s.endpoint(f))}, nil
		})
	mcpTool(s, srv, &mcp.Tool{Name: "create_form", Description: "Create a form, as POST /api/v1/forms does."}, true,
		func(ctx context.Context, c mcpCaller, in mcpCreateFormArgs) (any, error) {
			var fi forms.Input
			if err := mcpArgsJSON(in, "", &fi); err != nil {
				return nil, err
			}
			f, err := forms.Create(ctx, s.DB, s.Validator, s.Sealer, s.Recipients, c.actor(), c.p.AccountID, fi)
			if err != nil {
				return nil, err
			}
			return s.formJSON(ctx, f)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "update_form", Description: "Change a form's name, fields or settings, as PATCH /api/v1/forms/{id} does; what is not given stays."}, true,
		func(ctx context.Context, c mcpCaller, in mcpUpdateFormArgs) (any, error) {
			patch := map[string]any{}
			if in.Name != nil {
				patch["name"] = *in.Name
			}
			if in.Fields != nil {
				patch["fields"] = in.Fields
			}
			if in.Settings != nil {
				patch["settings"] = in.Settings
			}
			var p forms.Patch
			if err := mcpArgsJSON(patch, "", &p); err != nil {
				return nil, err
			}
			if err := checkPatchSettings(p); err != nil {
				return nil, err
			}
			f, err := forms.Update(ctx, s.DB, s.Validator, s.Sealer, s.Recipients, c.actor(), c.p.AccountID, in.FormID, p)
			if err != nil {
				return nil, err
			}
			return s.formJSON(ctx, f)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "submit", Description: "Submit data to a form, exactly once. idempotency_key is required: make a new unique key for each new submission " +
		"and reuse the SAME key (with the same data) whenever you retry it, after a timeout or an error; a retry then answers the stored answer " +
		"with replayed: true and stores nothing twice. A validation error lists each field to fix."}, true,
		func(ctx context.Context, c mcpCaller, in mcpSubmitArgs) (any, error) {
			return s.mcpSubmit(ctx, c, in)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "list_submissions", Description: "A form's submissions, newest first, with filters (q, spam, since) and a cursor, as GET /api/v1/forms/{id}/submissions does."}, false,
		func(ctx context.Context, c mcpCaller, in mcpListSubmissionsArgs) (any, error) {
			f, err := forms.ForAccount(ctx, s.DB, c.p.AccountID, in.FormID)
			if err != nil {
				return nil, err
			}
			q := in.values()
			if in.Q != "" {
				q.Set("q", in.Q)
			}
			if in.Spam != nil {
				q.Set("spam", strconv.FormatBool(*in.Spam))
			}
			if in.Since != "" {
				q.Set("since", in.Since)
			}
			return s.submissionsPage(ctx, f, q)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "search_submissions", Description: "Search a form's submissions for text in their data (q), newest first."}, false,
		func(ctx context.Context, c mcpCaller, in mcpSearchArgs) (any, error) {
			f, err := forms.ForAccount(ctx, s.DB, c.p.AccountID, in.FormID)
			if err != nil {
				return nil, err
			}
			if strings.TrimSpace(in.Q) == "" {
				return nil, invalidParameter("q is required: the text to search for")
			}
			q := in.values()
			q.Set("q", in.Q)
			return s.submissionsPage(ctx, f, q)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "get_submission", Description: "One submission, as GET /api/v1/submissions/{id} shows it."}, false,
		func(ctx context.Context, c mcpCaller, in mcpSubmissionArgs) (any, error) {
			id, err := submissions.ParseID(in.SubmissionID)
			if err != nil {
				return nil, err
			}
			sub, err := submissions.Get(ctx, s.DB, c.p.AccountID, id)
			if err != nil {
				return nil, err
			}
			return sub.JSON(), nil
		})
	mcpTool(s, srv, &mcp.Tool{Name: "mark_spam", Description: "Mark a submission spam (spam: true, the default) or not spam (spam: false)."}, true,
		func(ctx context.Context, c mcpCaller, in mcpSpamArgs) (any, error) {
			id, err := submissions.ParseID(in.SubmissionID)
			if err != nil {
				return nil, err
			}
			spam := in.Spam == nil || *in.Spam
			sub, err := submissions.SetSpam(ctx, s.DB, c.actor(), c.p.AccountID, id, spam)
			if err != nil {
				return nil, err
			}
			return sub.JSON(), nil
		})
	mcpTool(s, srv, &mcp.Tool{Name: "delete_submission", Description: "Delete a submission for good, with its files."}, true,
		func(ctx context.Context, c mcpCaller, in mcpSubmissionArgs) (any, error) {
			id, err := submissions.ParseID(in.SubmissionID)
			if err != nil {
				return nil, err
			}
			if err := submissions.Delete(ctx, s.DB, c.actor(), c.p.AccountID, id); err != nil {
				return nil, err
			}
			return map[string]any{"id": submissions.FormatID(id), "deleted": true}, nil
		})
	mcpTool(s, srv, &mcp.Tool{Name: "merge_submissions", Description: "Merge a submission into another of its form (into): it is hidden, not deleted, as POST /api/v1/submissions/{id}/merge does."}, true,
		func(ctx context.Context, c mcpCaller, in mcpMergeArgs) (any, error) {
			id, err := submissions.ParseID(in.SubmissionID)
			if err != nil {
				return nil, err
			}
			into, err := submissions.ParseID(in.Into)
			if err != nil {
				return nil, &forms.ValidationError{Errors: []forms.FieldError{{Field: "into", Code: forms.CodeInvalid, Rule: "submission_id",
					Message: "into must be a submission id such as sub_01jd9v3k8r2f5q7w9x1y3z5a7b", Pointer: "#/into"}}}
			}
			sub, err := submissions.Merge(ctx, s.DB, c.actor(), c.p.AccountID, id, into)
			if err != nil {
				return nil, err
			}
			return sub.JSON(), nil
		})
	mcpTool(s, srv, &mcp.Tool{Name: "form_stats", Description: "A form's submissions, spam and duplicates per day."}, false,
		func(ctx context.Context, c mcpCaller, in mcpStatsArgs) (any, error) {
			f, err := forms.ForAccount(ctx, s.DB, c.p.AccountID, in.FormID)
			if err != nil {
				return nil, err
			}
			q := url.Values{}
			if in.Days != nil {
				q.Set("days", strconv.Itoa(*in.Days))
			}
			return s.stats(ctx, f, q)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "list_webhooks", Description: "A form's webhook endpoints (their secrets are not shown)."}, false,
		func(ctx context.Context, c mcpCaller, in mcpFormArgs) (any, error) {
			f, err := forms.ForAccount(ctx, s.DB, c.p.AccountID, in.FormID)
			if err != nil {
				return nil, err
			}
			return s.webhooksOf(ctx, f.ID)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "list_deliveries", Description: "A webhook endpoint's deliveries, newest first, with their state and last status."}, false,
		func(ctx context.Context, c mcpCaller, in mcpWebhookArgs) (any, error) {
			e, err := s.endpointOf(ctx, c, in.WebhookID)
			if err != nil {
				return nil, err
			}
			return s.deliveriesPage(ctx, e, in.values())
		})
	mcpTool(s, srv, &mcp.Tool{Name: "redeliver", Description: "Send a webhook delivery once more, with the same webhook-id; the attempt happens in the background."}, true,
		func(ctx context.Context, c mcpCaller, in mcpDeliveryArgs) (any, error) {
			return s.redeliverFor(ctx, c.actor(), c.p.AccountID, in.DeliveryID)
		})
	mcpTool(s, srv, &mcp.Tool{Name: "erase_person", Description: "Erase every submission of the account that carries this email address, with every copy, as POST /api/v1/erasures does. It cannot be undone."}, true,
		func(ctx context.Context, c mcpCaller, in mcpEmailArgs) (any, error) {
			address, problem, err := submissions.ParseAddress(ctx, s.DB, in.Email)
			if err != nil {
				return nil, err
			}
			if problem != "" {
				return nil, &forms.ValidationError{Errors: []forms.FieldError{{Field: "email", Code: forms.CodeInvalid, Rule: "email",
					Message: problem, Pointer: "#/email"}}}
			}
			counts, err := people.Erase(ctx, s.DB, c.actor(), c.p.AccountID, address, 0, nil)
			if err != nil {
				return nil, err
			}
			return erasureBody{Deleted: counts}, nil
		})
}

// mcpSubmit is the tool submit: POST /f/{id} in JSON mode with the key as
// its Idempotency-Key, through submissions.Service.Submit, the one path
// every submission takes (its limits, validation and exactly-once).
func (s *Server) mcpSubmit(ctx context.Context, c mcpCaller, in mcpSubmitArgs) (any, error) {
	if in.IdempotencyKey == "" {
		return nil, invalidParameter("idempotency_key is required: a unique key for this submission, the same on every retry")
	}
	// The data as the client wrote it (toolCalls), so it is parsed as /f/
	// parses a JSON body: its numbers as written, a replay through /f/ of
	// the same key and data is a replay here.
	body, _ := ctx.Value(rawDataKey{}).(json.RawMessage)
	if len(body) == 0 || string(body) == "null" {
		body = []byte(`{}`)
	}
	// A key submits to its own account's forms: another's is not found
	// (anyone may post to /f/, but a tool acts for the key's account).
	if _, err := forms.ForAccount(ctx, s.DB, c.p.AccountID, in.FormID); err != nil {
		return nil, err
	}
	const ct = "application/json"
	start := time.Now()
	res, err := s.Submissions.Submit(ctx, submissions.Incoming{
		FormID:      in.FormID,
		KeyHeader:   []string{in.IdempotencyKey},
		ContentType: ct,
		Body:        http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(body)), s.Submissions.BodyLimit(ct)),
		IP:          c.ip,
		UserAgent:   c.userAgent,
	})
	defer s.countSubmission(res, start)
	if err != nil {
		return nil, err
	}
	return submitBody{Replayed: res.Outcome == submissions.OutcomeReplayed, Status: res.Response.Status, Answer: res.Response.Body}, nil
}

// rawDataKey holds submit's data argument as the client sent it.
type rawDataKey struct{}

// endpointOf is the internal id of the caller's account's webhook
// endpoint publicID (webhooks.ErrNotFound, also for another account's).
func (s *Server) endpointOf(ctx context.Context, c mcpCaller, publicID string) (int64, error) {
	e, err := webhooks.ForAccount(ctx, s.DB, c.p.AccountID, publicID)
	if err != nil {
		return 0, err
	}
	return e.ID, nil
}

// formSchemaResource reads intake://forms/{id}/schema: the account's form
// id's contract as JSON Schema.
func (s *Server) formSchemaResource(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	c, ok := callerOf(req.Extra)
	if !ok {
		return nil, accounts.ErrUnauthorized
	}
	uri := req.Params.URI
	id, okPrefix := strings.CutPrefix(uri, "intake://forms/")
	id, okSuffix := strings.CutSuffix(id, "/schema")
	if !okPrefix || !okSuffix || id == "" || strings.Contains(id, "/") {
		return nil, mcp.ResourceNotFoundError(uri)
	}
	f, err := forms.ForAccount(ctx, s.DB, c.p.AccountID, id)
	if err != nil {
		if errors.Is(err, forms.ErrNotFound) {
			return nil, mcp.ResourceNotFoundError(uri)
		}
		return nil, err
	}
	b, err := json.Marshal(f.JSONSchema(s.endpoint(f)))
	if err != nil {
		return nil, err
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: uri, MIMEType: "application/schema+json", Text: string(b)}}}, nil
}
