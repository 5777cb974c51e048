"""Feature flags: OpenFeature FeatureFlag objects, their patches, and evaluation through flagd."""
