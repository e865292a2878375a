"""Load, validate, lint and version BPMN/DMN/form bundles (deployments)."""

from engine.definitions.bundle import Bundle, BundleFile
from engine.definitions.deploy import deploy_bundle, validate_bundle
from engine.definitions.problems import Problem
from engine.definitions.specs import active_spec, load_specs

__all__ = ["Bundle", "BundleFile", "Problem", "active_spec", "deploy_bundle", "load_specs", "validate_bundle"]
