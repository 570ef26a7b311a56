/*
 * form.h - reading an application/x-www-form-urlencoded body (the
 * HTML form encoding, as OAuth token endpoints take it: RFC 6749 4.1.3,
 * Google's JWT bearer grant, Zalo's refresh), for the provider doubles.
 */
#ifndef RK_FORM_H
#define RK_FORM_H

/* The value of name in form, decoded ('+' a space, %XX a byte), new;
 * NULL if absent. */
char *form_value(const char *form, const char *name);

#endif
