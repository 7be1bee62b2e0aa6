package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/intakehq/intake/accounts"
)

// The owner hands the account to another member (docs/SECURITY.md,
// "Members and roles").

// transferView is the data of the page that hands the account over.
type transferView struct {
	base
	Members []accounts.Member // who may receive it: every member but the owner
	To      int64
	Errors  map[string]string // by input: "to", "password"
}

func (d *Dashboard) transferPage(w http.ResponseWriter, r *http.Request) {
	d.renderTransfer(w, r, http.StatusOK, transferView{})
}

func (d *Dashboard) renderTransfer(w http.ResponseWriter, r *http.Request, status int, v transferView) {
	ms, err := accounts.Members(r.Context(), d.DB, user(r).AccountID)
	if err != nil {
		d.error(w, r, err)
		return
	}
	for _, m := range ms {
		if m.Role != accounts.RoleOwner {
			v.Members = append(v.Members, m)
		}
	}
	v.base = d.base(w, r, "Transfer ownership", "account", crumb{Label: "Account", URL: "/account"}, crumb{Label: "Transfer ownership"})
	renderPage(d, w, r, status, tmplTransfer, v)
}

// transfer hands the account to another member after checking the
// owner's password (a session left open is not enough to give the
// account away); the owner stays as an admin.
func (d *Dashboard) transfer(w http.ResponseWriter, r *http.Request) {
	if !d.parseForm(w, r) {
		return
	}
	s := user(r)
	v := transferView{Errors: map[string]string{}}
	to, err := strconv.ParseInt(r.PostFormValue("to"), 10, 64)
	v.To = to
	if err != nil {
		v.Errors["to"] = "Choose the member to hand the account to."
	}
	password := r.PostFormValue("password")
	if password == "" {
		v.Errors["password"] = "Enter your password."
	}
	if len(v.Errors) == 0 {
		if wait := d.throttle.attempt(s.Email, d.clientIP(r), time.Now()); wait > 0 {
			d.tooManyAttempts(w, r, wait)
			return
		}
		err := d.hashing(r, func() error {
			_, err := accounts.CheckLogin(r.Context(), d.DB, s.Email, password)
			return err
		})
		switch {
		case errors.Is(err, accounts.ErrBadCredentials):
			v.Errors["password"] = "The password is wrong."
		case err != nil:
			d.error(w, r, err)
			return
		}
	}
	if len(v.Errors) == 0 {
		err := accounts.TransferOwnership(r.Context(), d.DB, d.actor(r), s.User(), to)
		if errors.Is(err, accounts.ErrNotFound) {
			v.Errors["to"] = "That person is not a member of this account (any more). Choose another."
		} else if err != nil {
			d.error(w, r, err)
			return
		}
	}
	if len(v.Errors) > 0 {
		d.renderTransfer(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	d.redirect(w, r, "/account/members", flash{Kind: flashSuccess, Message: "The account has a new owner. You stay as an admin."})
}
