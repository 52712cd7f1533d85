/* render_int.h — what render.c shares with the PDF layout (pdf.c): the
 * template's labels in both languages and the cleaning of values, so that
 * the PDF says exactly what the text and HTML renderings say.
 */
#ifndef KIP_RENDER_INT_H
#define KIP_RENDER_INT_H

#include <stddef.h>

struct render_person;

enum label {
	L_TITLE,
	L_S1,
	L_S1_NOTE,
	L_NAME,
	L_CPR,
	L_ADDRESS,
	L_PHONE,
	L_BASIS,
	L_BASIS_NOTE,
	L_BASIS1,
	L_BASIS2,
	L_BASIS3,
	L_BASIS4,
	L_CONSENT,
	L_CONSENT_TEXT,
	L_YES,
	L_NO,
	L_COORD,
	L_PARTICIPANTS,
	L_MEETING_DATE,
	L_APPROVED,
	L_S2,
	L_S2_NOTE,
	L_STATUS,
	L_GOALS,
	L_ACTIONS,
	L_S3,
	L_MEETING_NOTE,
	L_S3_LIST,
	L_S4,
	L_GOAL,
	L_COL_ACTION,
	L_COL_SUCCESS,
	L_COL_RESP,
	L_COL_TIME,
	L_NO_SHOW,
	L_S5,
	L_FOLLOW_UP_PRE,
	L_FOLLOW_UP_POST,
	N_LABELS
};

/* The four basis bits in the template's order. */
extern const unsigned render_basis_bits[4];

/* Label L in Danish (en 0) or English (en 1). */
const char *render_label(enum label l, int en);
/* A copy of RAW (NULL: "") as valid UTF-8 without control characters
 * other than newline, trailing white space removed; caller frees. NULL
 * with *err -ENOMEM when out of memory. */
char *render_clean(const char *raw, int *err);
/* "name, title, organisation, e-mail, phone" of the parts that are set;
 * caller frees; NULL with *err set when out of memory. */
char *render_person_line(const struct render_person *p, int *err);
/* "YYYY-MM-DD" as the language writes dates; anything else as it is. */
void render_date(int en, const char *iso, char *dst, size_t n);

#endif
