/* t.h — a minimal table-driven unit test harness.
 *
 *   static void test_x(void) { T_ASSERT(1 + 1 == 2); T_STREQ(a, "b"); }
 *   T_MAIN(T_CASE(test_x), T_CASE(test_y))
 *
 * Each case counts as one test: passed when none of its assertions failed.
 * The program prints one line per failed assertion and closes with
 * "N passed, N failed"; it exits non-zero when anything failed.
 */
#ifndef KIP_T_H
#define KIP_T_H

#include <stdio.h>
#include <string.h>

static int t_failures_in_case;

#define T_ASSERT(cond)                                                         \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__,       \
			       #cond);                                         \
			t_failures_in_case++;                                  \
		}                                                              \
	} while (0)

#define T_STREQ(a, b)                                                          \
	do {                                                                   \
		const char *t_a_ = (a), *t_b_ = (b);                           \
		if (!t_a_ || !t_b_ || strcmp(t_a_, t_b_) != 0) {               \
			printf("  FAIL %s:%d: %s == %s (\"%s\" vs \"%s\")\n",  \
			       __FILE__, __LINE__, #a, #b,                     \
			       t_a_ ? t_a_ : "(null)",                         \
			       t_b_ ? t_b_ : "(null)");                        \
			t_failures_in_case++;                                  \
		}                                                              \
	} while (0)

/* Asserts that haystack contains needle. */
#define T_CONTAINS(haystack, needle)                                           \
	do {                                                                   \
		const char *t_h_ = (haystack), *t_n_ = (needle);               \
		if (!t_h_ || !strstr(t_h_, t_n_)) {                            \
			printf("  FAIL %s:%d: \"%s\" not in \"%.200s\"\n",     \
			       __FILE__, __LINE__, t_n_,                       \
			       t_h_ ? t_h_ : "(null)");                        \
			t_failures_in_case++;                                  \
		}                                                              \
	} while (0)

struct t_case {
	const char *name;
	void (*fn)(void);
};

#define T_CASE(f)                                                              \
	{                                                                      \
#f, f                                                          \
	}

#define T_MAIN(...)                                                            \
	int main(void)                                                         \
	{                                                                      \
		static const struct t_case cases[] = {__VA_ARGS__};            \
		int passed = 0, failed = 0;                                    \
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]);       \
		     i++) {                                                    \
			t_failures_in_case = 0;                                \
			cases[i].fn();                                         \
			if (t_failures_in_case) {                              \
				printf("not ok %s\n", cases[i].name);          \
				failed++;                                      \
			} else {                                               \
				printf("ok %s\n", cases[i].name);              \
				passed++;                                      \
			}                                                      \
		}                                                              \
		printf("%d passed, %d failed\n", passed, failed);              \
		return failed ? 1 : 0;                                         \
	}

#endif
