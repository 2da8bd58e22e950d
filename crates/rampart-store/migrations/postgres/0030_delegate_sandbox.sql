-- The sandbox a delegate runs script steps in, as it reports on every poll
-- ("full (landlock with scoping, seccomp, rlimits)", "weak (…)", "none (…)").
ALTER TABLE delegates ADD COLUMN sandbox TEXT;
