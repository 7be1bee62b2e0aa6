package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strconv"

	"github.com/intakehq/intake/accounts"
	"github.com/intakehq/intake/pages"
)

// dashLayoutFile is the template every dashboard page is rendered inside;
// it calls the page's "content" template.
const dashLayoutFile = "dash_layout.html"

// dashTemplate is a page template bound to its view type, so handing a
// page the wrong data is a compile error.
type dashTemplate[V any] struct{ file string }

func (t dashTemplate[V]) fileName() string { return t.file }
func (t dashTemplate[V]) zeroView() any    { var v V; return v }

// The dashboard's pages and their views.
var (
	tmplLogin       = dashTemplate[loginView]{"dash_login.html"}
	tmplSignup      = dashTemplate[signupView]{"dash_signup.html"}
	tmplAccount     = dashTemplate[accountView]{"dash_account.html"}
	tmplAPIKeys     = dashTemplate[apiKeysView]{"dash_apikeys.html"}
	tmplForms       = dashTemplate[formsView]{"dash_forms.html"}
	tmplFormEdit    = dashTemplate[formEditView]{"dash_form_edit.html"}
	tmplForm        = dashTemplate[formView]{"dash_form.html"}
	tmplSubmissions = dashTemplate[submissionsView]{"dash_submissions.html"}
	tmplSubmission  = dashTemplate[submissionView]{"dash_submission.html"}
	tmplWebhooks    = dashTemplate[webhooksView]{"dash_webhooks.html"}
	tmplWebhook     = dashTemplate[webhookView]{"dash_webhook.html"}
	tmplDelivery    = dashTemplate[deliveryView]{"dash_delivery.html"}
	tmplOutbox      = dashTemplate[outboxView]{"dash_outbox.html"}
	tmplEmail       = dashTemplate[emailView]{"dash_email.html"}
	tmplConfirm     = dashTemplate[confirmView]{"dash_confirm.html"}
	tmplLink        = dashTemplate[linkView]{"dash_link.html"}
	tmplError       = dashTemplate[errorView]{"dash_error.html"}
	tmplVerify      = dashTemplate[verifyView]{"dash_verify.html"}
	tmplForgot      = dashTemplate[forgotView]{"dash_forgot.html"}
	tmplReset       = dashTemplate[resetView]{"dash_reset.html"}
	tmplTwoFactor   = dashTemplate[twoFactorView]{"dash_two_factor.html"}
	tmplAudit       = dashTemplate[auditView]{"dash_audit.html"}
	tmplMembers     = dashTemplate[membersView]{"dash_members.html"}
	tmplInvite      = dashTemplate[inviteView]{"dash_invite.html"}
	tmplTransfer    = dashTemplate[transferView]{"dash_transfer.html"}
	tmplPeople      = dashTemplate[peopleView]{"dash_people.html"}
	tmplDuplicates  = dashTemplate[duplicatesView]{"dash_duplicates.html"}
	tmplNotifyEmail = dashTemplate[notifyEmailView]{"dash_notify_email.html"}
	tmplBranding    = dashTemplate[brandingView]{"dash_branding.html"}
)

var dashTemplates = []interface {
	fileName() string
	zeroView() any
}{
	tmplLogin, tmplSignup, tmplAccount, tmplAPIKeys, tmplForms, tmplFormEdit, tmplForm, tmplSubmissions,
	tmplSubmission, tmplWebhooks, tmplWebhook, tmplDelivery, tmplOutbox, tmplEmail, tmplConfirm, tmplLink, tmplError,
	tmplVerify, tmplForgot, tmplReset, tmplTwoFactor, tmplAudit, tmplMembers, tmplInvite, tmplTransfer, tmplPeople,
	tmplDuplicates, tmplNotifyEmail, tmplBranding,
}

// dashPageFiles lists the dashboard's page template files.
func dashPageFiles() []string {
	out := make([]string, len(dashTemplates))
	for i, t := range dashTemplates {
		out[i] = t.fileName()
	}
	return out
}

//go:embed templates
var embedded embed.FS

// parseTemplates parses the dashboard's pages, under templates/ in fsys,
// over the site's static assets (package pages), and executes each once
// with its zero view: a template that names a field its view lacks fails
// here, at boot, not on a page view. A file under templates/ that is not
// one of them fails too, so a stray template cannot hide in the binary.
func parseTemplates(fsys fs.FS) (map[string]*template.Template, error) {
	site, err := pages.New()
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, "templates")
	if err != nil {
		return nil, fmt.Errorf("web: read templates: %w", err)
	}
	known := append([]string{dashLayoutFile}, dashPageFiles()...)
	for _, e := range entries {
		if !slices.Contains(known, e.Name()) {
			return nil, fmt.Errorf("web: templates/%s is not used by any page", e.Name())
		}
	}
	tmpls, err := site.ParseLayout(fsys, dashLayoutFile, dashFuncs, dashPageFiles(), []string{"content"})
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	for _, t := range dashTemplates {
		if err := tmpls[t.fileName()].ExecuteTemplate(io.Discard, dashLayoutFile, t.zeroView()); err != nil {
			return nil, fmt.Errorf("web: %s does not fit its view: %w", t.fileName(), err)
		}
	}
	return tmpls, nil
}

// base is what the layout draws around every page.
type base struct {
	Title     string // the page's, before " · Intake"
	Nav       string // the current section: "forms", "outbox", "audit", "apikeys", "account"; "" for none
	UserEmail string // the logged-in user's; "" when logged out
	// Unverified: the logged-in user has not confirmed their address, and
	// every page says so (with a button to send the link again).
	Unverified bool
	Flash      flash
	Crumbs     []crumb // the trail above the heading; the last is the page itself
	// Role is the user's in the account they look at ("" for none): pages
	// offer only what it may do (May).
	Role accounts.Role
	// Account is the name of the account the user looks at ("" for
	// none); Accounts all of theirs, for the switcher when there are
	// several (AccountID is the current one's).
	Account   string
	AccountID int64
	Accounts  []accounts.Membership
}

// May reports whether the page's user may do what a member of at least the
// role least ("viewer", "member", "admin" or "owner") may: the templates'
// test before offering a link or form whose route needs it (Routes).
func (b base) May(least accounts.Role) bool { return b.UserEmail != "" && b.Role.AtLeast(least) }

type crumb struct {
	Label string
	URL   string // "" for the current page
}

// base makes the layout's data for a page and takes the pending flash.
func (d *Dashboard) base(w http.ResponseWriter, r *http.Request, title, nav string, crumbs ...crumb) base {
	b := base{Title: title, Nav: nav, Flash: d.takeFlash(w, r), Crumbs: crumbs}
	if s := state(r).session; s != nil {
		b.UserEmail, b.Unverified, b.Role = s.Email, !s.Verified, s.Role
		b.AccountID = s.AccountID
		// The header's account and switcher. A page still renders without
		// them should the read fail (its own reads say what is wrong).
		ms, err := accounts.MembershipsOf(r.Context(), d.DB, s.UserID)
		if err != nil {
			d.logger(r).WarnContext(r.Context(), "dashboard: read the user's accounts", "err", err)
		}
		for _, m := range ms {
			if m.AccountID == s.AccountID {
				b.Account = m.Name
			}
		}
		if len(ms) > 1 {
			b.Accounts = ms
		}
	}
	return b
}

// renderPage executes a page into a buffer first, so that a template error
// becomes a clean 500 instead of half a page under the wrong status.
func renderPage[V any](d *Dashboard, w http.ResponseWriter, r *http.Request, status int, t dashTemplate[V], v V) {
	var buf bytes.Buffer
	if err := d.templates[t.file].ExecuteTemplate(&buf, dashLayoutFile, v); err != nil {
		if t.file == tmplError.file {
			d.logger(r).ErrorContext(r.Context(), "dashboard: render error page", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		d.error(w, r, fmt.Errorf("render %s: %w", t.file, err))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes()) // a failed write means the client is gone
	}
}
