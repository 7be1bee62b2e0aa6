package submissions

// Queued returns how many writes wait in s's group-commit queue, so tests
// can wait until the writes they started are queued (commit_test.go).
func (s *Service) Queued() int {
	s.committer.mu.Lock()
	defer s.committer.mu.Unlock()
	return len(s.committer.small.queue) + len(s.committer.files.queue)
}
