package web

import (
	"errors"
	"net/http"

	"github.com/intakehq/intake/notify"
)

// linkView is the page a confirmation or unsubscribe link opens: before,
// a button that POSTs the token (a mail scanner that fetches the link
// changes nothing); after, what was done.
type linkView struct {
	base
	Heading string
	Message string
	Action  string // where the button posts; "" once done
	Token   string
	Button  string
}

// linkToken is the token of a link's request: in the query (the link
// itself, and the one-click POST of RFC 8058, which posts to the link as
// it is) or in the posted form (the page's button).
func linkToken(r *http.Request) string {
	if t := r.URL.Query().Get("token"); t != "" {
		return t
	}
	return r.PostFormValue("token")
}

// errNoToken is a link's request without its token.
var errNoToken = errors.New("no token")

// badRecipientLink answers a confirmation or unsubscribe link that is not (or no longer) valid: 400 without a
// token, 404 with one that is unknown, used or forged.
func (d *Dashboard) badRecipientLink(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNoToken) {
		d.errorPage(w, r, http.StatusBadRequest, errorView{
			Heading: "This link is incomplete",
			Message: "It carries no token, so there is nothing to do. Nothing was changed.",
			Hint:    "If you copied it from an email, check that you copied all of it.",
		})
		return
	}
	if !errors.Is(err, notify.ErrLinkNotFound) {
		d.error(w, r, err)
		return
	}
	d.errorPage(w, r, http.StatusNotFound, errorView{
		Heading: "This link is not valid",
		Message: "It was used already, or it is not quite right. Nothing was changed.",
		Hint:    "If you copied it from an email, check that you copied all of it.",
	})
}

// recipientLink answers a confirmation or unsubscribe link: it reads the
// form post when there is one, finds the link's recipient with find
// (which, for a POST, also acts on it), and renders what view says of it;
// a link without a token, or one find refuses, gets badRecipientLink.
func (d *Dashboard) recipientLink(w http.ResponseWriter, r *http.Request,
	find func(r *http.Request, token string) (*notify.Pending, error), view func(p *notify.Pending, token string) linkView) {
	if r.Method == http.MethodPost && !d.parseForm(w, r) {
		return
	}
	token := linkToken(r)
	if token == "" {
		d.badRecipientLink(w, r, errNoToken)
		return
	}
	p, err := find(r, token)
	if err != nil {
		d.badRecipientLink(w, r, err)
		return
	}
	v := view(p, token)
	v.base = d.base(w, r, v.Heading, "")
	renderPage(d, w, r, http.StatusOK, tmplLink, v)
}

func (d *Dashboard) pendingFor(r *http.Request, token string) (*notify.Pending, error) {
	return notify.PendingFor(r.Context(), d.DB, token)
}

func (d *Dashboard) confirmLink(r *http.Request, token string) (*notify.Pending, error) {
	return notify.Confirm(r.Context(), d.DB, token, d.clientIP(r))
}

func (d *Dashboard) unsubscribeFor(r *http.Request, token string) (*notify.Pending, error) {
	return d.Links.UnsubscribeFor(r.Context(), d.DB, token)
}

func (d *Dashboard) unsubscribeLink(r *http.Request, token string) (*notify.Pending, error) {
	return d.Links.Unsubscribe(r.Context(), d.DB, token, d.clientIP(r))
}

// confirmPage shows what a confirmation link would confirm, with the
// button that does it.
func (d *Dashboard) confirmPage(w http.ResponseWriter, r *http.Request) {
	d.recipientLink(w, r, d.pendingFor, func(p *notify.Pending, token string) linkView {
		return linkView{Heading: "Confirm notifications",
			Message: "Send the submissions of the form “" + p.FormName + "” to " + p.Email + "?",
			Action:  "/confirm", Token: token, Button: "Yes, send them to me"}
	})
}

// confirm confirms the address a confirmation link was mailed to.
func (d *Dashboard) confirm(w http.ResponseWriter, r *http.Request) {
	d.recipientLink(w, r, d.confirmLink, func(p *notify.Pending, _ string) linkView {
		return linkView{Heading: "Confirmed",
			Message: p.Email + " will get the submissions of the form “" + p.FormName + "”. Each email has a link to stop them."}
	})
}

// unsubscribePage shows what an unsubscribe link would stop, with the
// button that does it.
func (d *Dashboard) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	d.recipientLink(w, r, d.unsubscribeFor, func(p *notify.Pending, token string) linkView {
		return linkView{Heading: "Unsubscribe",
			Message: "Stop sending the submissions of the form “" + p.FormName + "” to " + p.Email + "?",
			Action:  "/unsubscribe", Token: token, Button: "Unsubscribe"}
	})
}

// unsubscribe stops a form's notifications to an address: the page's
// button, and the one-click POST a mail provider sends on the user's
// behalf (RFC 8058), which carries no CSRF token and may come from
// anywhere — so the route is exempt from the cross-origin protection, and
// the signed token is what authorises it.
func (d *Dashboard) unsubscribe(w http.ResponseWriter, r *http.Request) {
	d.recipientLink(w, r, d.unsubscribeLink, func(p *notify.Pending, _ string) linkView {
		return linkView{Heading: "Unsubscribed",
			Message: p.Email + " will get no more submissions of the form “" + p.FormName + "”."}
	})
}

// resubscribe turns a form's notifications to the logged-in user back on
// after they unsubscribed from them.
func (d *Dashboard) resubscribe(w http.ResponseWriter, r *http.Request) {
	f, err := d.formFor(r)
	if err != nil {
		d.error(w, r, err)
		return
	}
	done, err := notify.Resubscribe(r.Context(), d.DB, d.actor(r), f, user(r).Email)
	if err != nil {
		d.error(w, r, err)
		return
	}
	msg := "Notifications to " + user(r).Email + " were already on."
	if done {
		msg = "Notifications to " + user(r).Email + " are on again."
	}
	d.redirect(w, r, "/forms/"+f.PublicID, flash{Kind: flashSuccess, Message: msg})
}
