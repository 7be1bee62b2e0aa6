package accounts

// Role is what a member may do in an account (docs/SECURITY.md, "Members
// and roles"). Each role may do all that the roles below it may:
//
//   - viewer: read the account's forms, submissions, webhooks and outbox;
//     change nothing.
//   - member: also make, change and delete forms, submissions and webhooks.
//   - admin: everything but ownership and billing: also API keys, members,
//     the audit log and a person's data.
//   - owner: exactly one per account: also the plan, the two-factor
//     requirement and handing ownership to another member.
type Role string

// The roles, from most to least.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Roles lists the roles from most to least.
var Roles = []Role{RoleOwner, RoleAdmin, RoleMember, RoleViewer}

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 4
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0 // no role: not a member
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r may do what least may. No role ("", a user in
// no account) is at least nothing.
func (r Role) AtLeast(least Role) bool { return r.rank() > 0 && r.rank() >= least.rank() }

// membershipSQL is a LEFT JOIN LATERAL giving m.account_id and m.role: the
// membership the user whose id is the SQL expression userID acts in. That
// is the account the SQL expression prefer gives (NULL for none) while the
// user is still its member, else the membership used most recently — the
// account a log-in opens. Both are NULL for a user in no account.
func membershipSQL(userID, prefer string) string {
	return ` LEFT JOIN LATERAL (SELECT mm.account_id, mm.role FROM memberships mm WHERE mm.user_id = ` + userID + `
	ORDER BY mm.account_id = ` + prefer + ` DESC NULLS LAST, mm.last_used_at DESC NULLS LAST, mm.created_at, mm.account_id LIMIT 1) m ON true `
}

// userColumnsSQL reads a User (scanUser) from users u joined with
// membershipSQL's m.
const userColumnsSQL = `u.id, coalesce(m.account_id, 0), coalesce(m.role, ''), u.email, u.email_verified_at IS NOT NULL`

// userDest is what userColumnsSQL scans into.
func userDest(u *User) []any {
	return []any{&u.ID, &u.AccountID, &u.Role, &u.Email, &u.Verified}
}
