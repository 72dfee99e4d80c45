/* placeholder so the module library is never empty */
typedef int sweep_placeholder_t;
