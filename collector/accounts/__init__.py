"""Who may see the dashboard: users and their sites (users), argon2id passwords (passwords), signed session
cookies (sessions), share links (shares) and the brake on guessing passwords (throttle)."""
