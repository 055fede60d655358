"""Built-in hook implementations of grading: classify each ingested version, add the dataset page section."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def version_ingested(session, settings, version):
    from shuzhi.classify.service import classify_version

    classify_version(session, settings, version)


@hookimpl
def dataset_page_sections(request, session, principal, dataset):
    from shuzhi.web.pages.classify import section_html

    return [section_html(request, session, principal, dataset)]
