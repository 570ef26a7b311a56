/*
 * report_html.h - a campaign's report as one self-contained HTML page
 * (rekindlectl campaigns report ID --html FILE).
 */
#ifndef RK_REPORT_HTML_H
#define RK_REPORT_HTML_H

#include <stdio.h>

#include "rekindle/v1/campaign.pb-c.h"

/* Writes the page of campaign cp and its report r to fp; -1 on a write
 * error. */
int report_html(FILE *fp, const Rekindle__V1__Campaign *cp,
    const Rekindle__V1__CampaignReport *r);

#endif
