"""Django app of OLVF screen: studies, model runs, findings, bundles, audit, the API and the pages."""
