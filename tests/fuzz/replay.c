/* Replays files through a fuzz target's LLVMFuzzerTestOneInput() without
 * libFuzzer, so `meson test --suite unit` runs the seed corpus and every
 * crash input kept under tests/fuzz/regressions/ in the normal (gcc,
 * ASan+UBSan) build. Usage: fuzz_<name>_replay PATH... where each PATH is a
 * file or a directory of files; a missing directory counts as empty (a
 * target may have no regressions yet), but at least one input must run, so
 * a corpus that went missing fails the test. A crash is the sanitizer's
 * abort; the driver itself fails only when it cannot read its inputs. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

static int s_run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(data, cap);
            if (!grown) {
                fclose(f);
                free(data);
                return -1;
            }
            data = grown;
        }
        size_t n = fread(data + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        free(data);
        return -1;
    }
    /* A copy of exactly len bytes, so ASan sees any read past the input. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return -1;
    }
    if (len)
        memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs every regular file in dir in name order; returns how many, or -1. */
static int s_run_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : -1;
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **grown = realloc(names, (count + 1) * sizeof *names);
        if (!grown || !(grown[count] = strdup(e->d_name))) {
            names = grown ? grown : names;
            rc = -1;
            break;
        }
        names = grown;
        count++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, count, sizeof *names, s_name_cmp);
    int ran = 0;
    for (size_t i = 0; i < count; i++) {
        if (rc == 0) {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
                if (s_run_file(path) < 0)
                    rc = -1;
                else
                    ran++;
            }
        }
        free(names[i]);
    }
    free(names);
    return rc < 0 ? -1 : ran;
}

int main(int argc, char **argv)
{
    int total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int ran;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))
            ran = s_run_file(argv[i]) == 0 ? 1 : -1;
        else
            ran = s_run_dir(argv[i]);
        if (ran < 0) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 1;
        }
        printf("replay: %s: %d inputs\n", argv[i], ran);
        total += ran;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 1;
    }
    printf("replay: %d inputs, no crash\n", total);
    return 0;
}
