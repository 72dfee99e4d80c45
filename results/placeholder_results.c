/* placeholder so the module library is never empty */
typedef int results_placeholder_t;
