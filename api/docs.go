package api

import (
	_ "embed"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// agentsGuide is GET /docs/agents: how an agent discovers a form, submits
// exactly once and reads submissions. {{BASE_URL}} stands for the server's
// BaseURL.
//
//go:embed agents.md
var agentsGuide string

// agentDocs serves the guide as Markdown to clients that prefer it (agents
// ask with Accept: text/markdown) and as an HTML page to everyone else.
func (s *Server) agentDocs(w http.ResponseWriter, r *http.Request) {
	md := strings.ReplaceAll(agentsGuide, "{{BASE_URL}}", s.BaseURL)
	h := w.Header()
	h.Set("Vary", "Accept")
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("X-Content-Type-Options", "nosniff")
	if prefersMarkdown(r.Header.Get("Accept")) {
		h.Set("Content-Type", "text/markdown; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(md))
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	// The page is static: no script, no outside resource.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(docsPage("Intake for agents", markdownHTML(md))))
}

// prefersMarkdown reports whether Accept ranks text/markdown at least as high
// as text/html (and above zero). Wildcards favour neither: the default is HTML.
func prefersMarkdown(accept string) bool {
	return prefers(accept, []string{"text/markdown", "text/x-markdown"}, "text/html")
}

func docsPage(title, body string) string {
	return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>` + html.EscapeString(title) + `</title>
<style>
body{font:16px/1.55 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
pre,code{font:14px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
code{background:#f2f2f2;padding:0 .2em;border-radius:3px}
pre{background:#f6f6f6;padding:.8rem 1rem;overflow-x:auto;border-radius:4px}
pre code{background:none;padding:0}
table{border-collapse:collapse;margin:1rem 0;font-size:15px}
th,td{border:1px solid #ddd;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}
h1,h2,h3{line-height:1.25}
nav{font-size:15px;border-bottom:1px solid #ddd;padding-bottom:.5rem}
</style>
</head>
<body>
<nav aria-label="Intake"><a href="/">Intake</a> · <a href="/forms">Your forms</a> · <a href="/api/openapi.json">OpenAPI description</a></nav>
` + body + `</body>
</html>
`
}

// markdownHTML renders the Markdown subset the guide uses — ATX headings,
// paragraphs, fenced code blocks, pipe tables, flat lists, inline code,
// links and bold — as HTML. Everything is escaped; only http(s), relative
// and fragment links become anchors. It is not a general Markdown
// implementation, and need not be: it renders one file Intake ships.
func markdownHTML(src string) string {
	var out strings.Builder
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			i++
		case strings.HasPrefix(trimmed, "```"):
			lang := strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
			i++
			var code []string
			for i < len(lines) && strings.TrimSpace(lines[i]) != "```" {
				code = append(code, lines[i])
				i++
			}
			i++ // the closing fence
			out.WriteString("<pre><code")
			if lang != "" {
				out.WriteString(` class="language-` + html.EscapeString(lang) + `"`)
			}
			out.WriteString(">" + html.EscapeString(strings.Join(code, "\n")) + "</code></pre>\n")
		case headingPattern.MatchString(trimmed):
			m := headingPattern.FindStringSubmatch(trimmed)
			n := strconv.Itoa(len(m[1]))
			out.WriteString("<h" + n + ` id="` + slug(m[2]) + `">` + inlineHTML(m[2]) + "</h" + n + ">\n")
			i++
		case strings.HasPrefix(trimmed, "|"):
			var rows []string
			for i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|") {
				rows = append(rows, strings.TrimSpace(lines[i]))
				i++
			}
			writeTable(&out, rows)
		case listItem(trimmed) != "":
			kind := listItem(trimmed)
			out.WriteString("<" + kind + ">\n")
			var item string
			flush := func() {
				if item != "" {
					out.WriteString("<li>" + inlineHTML(item) + "</li>\n")
				}
			}
			for i < len(lines) {
				l := lines[i]
				t := strings.TrimSpace(l)
				if t == "" {
					break
				}
				if k := listItem(t); k == kind {
					flush()
					item = listItemText(t)
				} else if strings.HasPrefix(l, " ") {
					item += " " + t // a continuation line of the item
				} else {
					break
				}
				i++
			}
			flush()
			out.WriteString("</" + kind + ">\n")
		default:
			var para []string
			for i < len(lines) {
				t := strings.TrimSpace(lines[i])
				if t == "" || strings.HasPrefix(t, "```") || strings.HasPrefix(t, "|") || headingPattern.MatchString(t) || listItem(t) != "" {
					break
				}
				para = append(para, t)
				i++
			}
			out.WriteString("<p>" + inlineHTML(strings.Join(para, " ")) + "</p>\n")
		}
	}
	return out.String()
}

var (
	headingPattern = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*$`)
	orderedItem    = regexp.MustCompile(`^\d+\.\s+`)
)

// listItem returns "ul" or "ol" when line starts a list item, else "".
func listItem(line string) string {
	switch {
	case strings.HasPrefix(line, "- "), strings.HasPrefix(line, "* "):
		return "ul"
	case orderedItem.MatchString(line):
		return "ol"
	}
	return ""
}

func listItemText(line string) string {
	if strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "* ") {
		return strings.TrimSpace(line[2:])
	}
	return strings.TrimSpace(orderedItem.ReplaceAllString(line, ""))
}

// writeTable renders a pipe table: a header row, a delimiter row, body rows.
func writeTable(out *strings.Builder, rows []string) {
	if len(rows) < 2 {
		for _, r := range rows {
			out.WriteString("<p>" + inlineHTML(r) + "</p>\n")
		}
		return
	}
	out.WriteString("<table>\n<thead><tr>")
	for _, c := range tableCells(rows[0]) {
		out.WriteString("<th>" + inlineHTML(c) + "</th>")
	}
	out.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range rows[2:] {
		out.WriteString("<tr>")
		for _, c := range tableCells(r) {
			out.WriteString("<td>" + inlineHTML(c) + "</td>")
		}
		out.WriteString("</tr>\n")
	}
	out.WriteString("</tbody>\n</table>\n")
}

// tableCells splits a table row on the pipes outside code spans.
func tableCells(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	var cells []string
	var cell strings.Builder
	inCode := false
	for i := 0; i < len(row); i++ {
		c := row[i]
		switch {
		case c == '`':
			inCode = !inCode
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cell.WriteByte('|')
			i++
			continue
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
			continue
		}
		cell.WriteByte(c)
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// inlineHTML renders code spans, links and bold in s, escaping the rest.
func inlineHTML(s string) string {
	var out strings.Builder
	for i := 0; i < len(s); {
		switch {
		case s[i] == '`':
			if end := strings.IndexByte(s[i+1:], '`'); end >= 0 {
				out.WriteString("<code>" + html.EscapeString(s[i+1:i+1+end]) + "</code>")
				i += end + 2
				continue
			}
		case s[i] == '[':
			if text, href, n, ok := link(s[i:]); ok {
				out.WriteString(`<a href="` + html.EscapeString(href) + `">` + inlineHTML(text) + "</a>")
				i += n
				continue
			}
		case strings.HasPrefix(s[i:], "**"):
			if end := strings.Index(s[i+2:], "**"); end > 0 {
				out.WriteString("<strong>" + inlineHTML(s[i+2:i+2+end]) + "</strong>")
				i += end + 4
				continue
			}
		case s[i] == '*' || s[i] == '_' && (i == 0 || s[i-1] == ' '):
			// *emphasis* (and _emphasis_ at a word's start, so that
			// snake_case names stay as they are).
			if end := strings.IndexByte(s[i+1:], s[i]); end > 0 && s[i+1] != ' ' {
				out.WriteString("<em>" + inlineHTML(s[i+1:i+1+end]) + "</em>")
				i += end + 2
				continue
			}
		}
		out.WriteString(html.EscapeString(s[i : i+1]))
		i++
	}
	return out.String()
}

// link parses "[text](href)" at the start of s, returning its length. Only
// http(s), root-relative and fragment hrefs are links; others stay text.
func link(s string) (text, href string, n int, ok bool) {
	closeText := strings.Index(s, "](")
	if closeText < 0 {
		return "", "", 0, false
	}
	closeHref := strings.IndexByte(s[closeText+2:], ')')
	if closeHref < 0 {
		return "", "", 0, false
	}
	text, href = s[1:closeText], s[closeText+2:closeText+2+closeHref]
	if strings.ContainsAny(href, " \"<>") ||
		!(strings.HasPrefix(href, "https://") || strings.HasPrefix(href, "http://") || strings.HasPrefix(href, "/") || strings.HasPrefix(href, "#")) {
		return "", "", 0, false
	}
	return text, href, closeText + 2 + closeHref + 1, true
}

// slug is a heading's id: lower-case letters and digits joined by hyphens.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
	}
	return b.String()
}
