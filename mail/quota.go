package mail

import (
	"fmt"
	"html/template"
	"strings"
	"time"
)

// QuotaWarning is what the quota warning email shows.
type QuotaWarning struct {
	PlanName     string
	Percent      int // 80 or 100: the share of the quota reached
	Used, Quota  int64
	Month        time.Time // the first instant of the month, UTC
	DashboardURL string    // where the owner sees usage and plan
}

// QuotaWarningEmail returns the email telling an account owner that its
// account has used q.Percent of the month's submission quota: at 100 %
// that new submissions are refused until the month ends, and that nothing
// accepted is lost. It carries Auto-Submitted: auto-generated and
// Message-ID messageID.
func QuotaWarningEmail(from, to string, q QuotaWarning, messageID string) *Message {
	v := quotaView{
		Title:        fmt.Sprintf("%d%% of this month's submissions used", q.Percent),
		Usage:        fmt.Sprintf("%d of the %d submissions your %s plan allows in %s", q.Used, q.Quota, oneLine(q.PlanName), q.Month.Format("January 2006")),
		Resets:       q.Month.AddDate(0, 1, 0).Format("2 January 2006 15:04 MST"),
		Full:         q.Percent >= 100,
		DashboardURL: oneLine(q.DashboardURL),
	}
	if v.Full {
		v.Title = "This month's submissions are used up"
	}
	return &Message{
		From:      from,
		To:        []string{strings.TrimSpace(to)},
		Subject:   subjectLine(v.Title),
		Text:      quotaText(v),
		HTML:      render(quotaHTML, v),
		MessageID: messageID,
		Headers:   map[string]string{"Auto-Submitted": "auto-generated"},
	}
}

type quotaView struct {
	Title, Usage, Resets, DashboardURL string
	Full                               bool
}

func (v quotaView) consequence() string {
	if v.Full {
		return "New submissions to your forms are refused (senders are told to try later) until " + v.Resets +
			". Everything accepted so far is kept and has been delivered as usual. Move to a larger plan to take submissions again now."
	}
	return "At 100 %, new submissions to your forms are refused until " + v.Resets +
		"; everything accepted before stays. Move to a larger plan to avoid that."
}

func quotaText(v quotaView) string {
	var b strings.Builder
	b.WriteString(v.Title + ".\n\nYour account has taken " + v.Usage + ".\n\n" + v.consequence() + "\n")
	if v.DashboardURL != "" {
		b.WriteString("\nSee your usage and plan:\n\n" + v.DashboardURL + "\n")
	}
	return b.String()
}

var quotaHTML = template.Must(template.New("quota").Funcs(template.FuncMap{
	"consequence": quotaView.consequence,
}).Parse(htmlHead + `<h1 style="font-size:18px;margin:0 0 16px;">{{.Title}}</h1>
<p style="margin:0 0 16px;">Your account has taken {{.Usage}}.</p>
<p style="margin:0 0 16px;">{{consequence .}}</p>
{{- if .DashboardURL}}
<p style="margin:0;"><a href="{{.DashboardURL}}" style="` + linkStyle + `">See your usage and plan</a></p>
<p style="margin:8px 0 0;font-size:12px;color:#59636e;word-break:break-all;">{{.DashboardURL}}</p>
{{- end}}
` + htmlFoot))
