package database

import (
	"strconv"
	"strings"
)

// Renumber returns sql with its placeholders $1, $2, … renumbered from
// offset+1. A statement assembled from the parts of several packages (the
// group write, submissions/write.go) takes each part written on its own,
// numbered from $1, and places it after the offset arguments of the parts
// before it. sql must hold no other $ followed by a digit (no positional
// dollar quotes).
func Renumber(sql string, offset int) string {
	if offset == 0 {
		return sql
	}
	var b strings.Builder
	for i := 0; i < len(sql); i++ {
		b.WriteByte(sql[i])
		if sql[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(sql) && '0' <= sql[j] && sql[j] <= '9' {
			j++
		}
		if j == i+1 {
			continue
		}
		n, err := strconv.Atoi(sql[i+1 : j])
		if err != nil {
			panic("database: placeholder out of range in " + sql)
		}
		b.WriteString(strconv.Itoa(n + offset))
		i = j - 1
	}
	return b.String()
}
