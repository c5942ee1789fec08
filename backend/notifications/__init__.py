"""In-app notifications: rows written by outbox handlers, a page and an unread-count API."""
