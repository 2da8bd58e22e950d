//! The in-app inbox (`/api/v1/me/notifications`). No test of its own yet: it is tested
//! where it is filled — `escalations` (pages arrive per level, reading one, someone else's
//! is a 404) and `services` (a subscriber is told when an incident opens). Put inbox tests
//! here.
