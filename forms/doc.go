// Package forms owns a form: its public id, its settings and its contract —
// the versioned list of fields with their types and validator rules that
// every submission is checked against. A contract is checked when it is
// saved (an unknown validator tag panics at request time otherwise), and a
// change makes a new version; each submission records the version it met.
//
// Its tables: forms and form_contracts.
package forms
