"""The rollout engine: a pure function from (release, policy, observation, now) to a decision."""
